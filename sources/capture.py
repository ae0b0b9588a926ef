"""Frames from a camera or a network stream through PyAV, stamped with their arrival, reconnecting when cut.

A live input has no end of its own: when it fails to open, stalls for `read_timeout_s` or ends, a one-line message
goes to stderr and it is opened again after a backoff that doubles from `backoff_initial_s` to `backoff_max_s`
(reset by the first frame that arrives), `max_retries` times (0: for ever). Media time starts at 0 with the first
frame and is re-anchored on the monotonic clock at every (re)connection, so it never goes back and a gap in the
stream is a gap in media time. Waits watch `cancel`, so a stopped run never waits out a backoff.
"""
from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterator, TextIO

import av

from footfall.engine.messages import NS_PER_S, VideoFrame
from footfall.sources.errors import SourceError
from footfall.sources.video_file import VideoSourceParams, analysis_image, analysis_size, ticks_to_ns


@dataclass(frozen=True)
class CaptureParams:
    """How live inputs are opened and re-opened."""

    open_timeout_s: float = 5.0  # opening a stream or camera gives up after this long
    read_timeout_s: float = 1.0  # a stream that delivers nothing for this long is cut (and re-opened)
    reconnect: bool = True  # re-open a cut stream or unplugged camera; false: its end ends the run
    backoff_initial_s: float = 0.5  # first wait before re-opening ...
    backoff_max_s: float = 8.0  # ... doubled up to this
    max_retries: int = 0  # re-opening attempts in a row before giving up (0: never give up)
    camera_size: str = ""  # camera picture size, e.g. "1280x720" ("": the camera's default)
    camera_rate: float = 0.0  # camera frames per second (0: the camera's default)
    camera_pixel_format: str = ""  # camera pixel format, e.g. "mjpeg", "yuyv422", "nv12" ("": default)

    def __post_init__(self) -> None:
        if self.open_timeout_s <= 0 or self.read_timeout_s <= 0:
            raise ValueError("open_timeout_s and read_timeout_s must be > 0")
        if not 0 < self.backoff_initial_s <= self.backoff_max_s:
            raise ValueError("backoff needs 0 < backoff_initial_s <= backoff_max_s")
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.camera_rate < 0:
            raise ValueError("camera_rate must be >= 0")
        if self.camera_size and not _is_size(self.camera_size):
            raise ValueError(f"camera_size must look like 1280x720, got {self.camera_size!r}")


def _is_size(text: str) -> bool:
    w, _, h = text.partition("x")
    return w.isdigit() and h.isdigit()


Opener = Callable[[], "av.container.InputContainer"]


class LiveCapture:
    """Iterates VideoFrames from whatever `opener` opens, for as long as the input lives (see the module)."""

    def __init__(self, name: str, opener: Opener, params: CaptureParams, video: VideoSourceParams | None = None,
                 cancel: threading.Event | None = None, log: TextIO | None = None) -> None:
        self.name = name
        self.params = params
        self.video = video or VideoSourceParams()
        self.cancel = cancel or threading.Event()
        self.log = log or sys.stderr
        self.reconnects = 0
        self._opener = opener

    @property
    def analysis_shape(self) -> tuple[int, int]:
        """(height, width) bound of the images yielded: a square of `max_side`, since the picture size is known
        only once the input opens, and may change when it is opened again."""
        return self.video.max_side, self.video.max_side

    def _say(self, text: str) -> None:
        print(f"footfall: {self.name}: {text}", file=self.log, flush=True)

    def _wait(self, seconds: float) -> bool:
        """Sleeps `seconds` unless cancelled; True if cancelled."""
        return self.cancel.wait(seconds)

    def frames(self) -> Iterator[VideoFrame]:
        p = self.params
        session_start = time.monotonic_ns()
        backoff = p.backoff_initial_s
        failures = 0
        index = 0
        last_t = -1
        while not self.cancel.is_set():
            got = 0
            try:
                container = self._opener()
            except (av.FFmpegError, OSError) as exc:
                problem = f"cannot open ({_reason(exc)})"
            else:
                problem = "stream ended"
                try:
                    for frame in self._decode(container, session_start, index, last_t):
                        got += 1
                        index += 1
                        last_t = frame.t_ns
                        backoff, failures = p.backoff_initial_s, 0
                        yield frame
                        if self.cancel.is_set():
                            return
                except av.ExitError:  # PyAV's read timeout interrupts FFmpeg
                    problem = f"stream cut (nothing received for {p.read_timeout_s:g} s)"
                except (av.FFmpegError, OSError) as exc:
                    problem = f"stream cut ({_reason(exc)})"
                finally:
                    container.close()
            if self.cancel.is_set():
                return
            if not p.reconnect:
                if index == 0:
                    raise SourceError(f"{self.name}: {problem}")
                return
            failures += 1
            if p.max_retries and failures > p.max_retries:
                raise SourceError(f"{self.name}: {problem}; gave up after {p.max_retries} attempts")
            self._say(f"{problem}; reconnecting in {backoff:.1f} s")
            if self._wait(backoff):
                return
            backoff = min(backoff * 2, p.backoff_max_s)
            self.reconnects += 1

    def _decode(self, container, session_start: int, index: int, last_t: int) -> Iterator[VideoFrame]:
        if not container.streams.video:
            raise SourceError(f"{self.name}: has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"
        stream.thread_count = self.video.decode_threads
        tb = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000)
        rate = Fraction(stream.average_rate or stream.guessed_rate or 30)
        nominal = int(NS_PER_S / rate)
        anchor: int | None = None
        for frame in container.decode(stream):
            arrival = time.monotonic_ns()
            pts_ns = ticks_to_ns(frame.pts, tb) if frame.pts is not None else 0
            if anchor is None:  # media time here = time since the session started, on this connection's first frame
                anchor = (arrival - session_start) - pts_ns if last_t >= 0 else -pts_ns
            t_ns = max(pts_ns + anchor, last_t + 1)
            last_t = t_ns
            w, h = analysis_size(frame.width, frame.height, self.video)
            image = analysis_image(frame, w, h, self.video.decode_threads)
            dur = ticks_to_ns(frame.duration, tb) if frame.duration else nominal
            yield VideoFrame(index, t_ns, dur, frame.width, frame.height, image, arrival)
            index += 1


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
