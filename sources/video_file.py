"""Decodes a video file into VideoFrames with integer-nanosecond media time, through PyAV.

Media time 0 is the first frame's presentation time, so audio sample 0 lines up with the first picture. Frames are
counted in decode output order (every decoded frame, as the evaluation labels count them). The analysis image is
scaled down in the same swscale pass as the RGB conversion when the frame is larger than `max_side`. That pass runs on
`decode_threads` threads: PyAV's default (one per CPU) starts a pool per converted frame, about ten context switches
and over a millisecond lost per 720p frame on a machine whose cores the pose workers already fill.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av

from footfall.engine.messages import NS_PER_S, VideoFrame
from footfall.sources.errors import SourceError
from footfall.sources.orientation import Orientation, frame_orientation


@dataclass(frozen=True)
class VideoSourceParams:
    max_side: int = 1280  # longest side of the analysis image; larger frames are scaled down
    decode_threads: int = 1  # decoder and RGB conversion threads; more compete with pose workers on small machines

    def __post_init__(self) -> None:
        if self.max_side < 64:
            raise ValueError("max_side must be at least 64")
        if self.decode_threads < 1:
            raise ValueError("decode_threads must be at least 1")


def _analysis_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height))
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


def _ns(ticks: int, time_base: Fraction) -> int:
    return (ticks * time_base.numerator * NS_PER_S) // time_base.denominator


@dataclass(frozen=True)
class VideoInfo:
    """A video as a viewer sees it: `width` x `height` are the displayed size (the stored one turned by
    `orientation`)."""

    path: Path
    width: int
    height: int
    rate: Fraction
    frame_count_hint: int
    duration_ns_hint: int
    orientation: Orientation = Orientation()


def probe(path: Path) -> VideoInfo:
    """Opens the file far enough to know it is a video we can decode; SourceError otherwise."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: file not found")
    if path.is_dir():
        raise SourceError(f"{path}: is a directory, not a video file")
    if path.stat().st_size == 0:
        raise SourceError(f"{path}: file is empty")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise SourceError(f"{path}: has no video stream")
            stream = container.streams.video[0]
            rate = Fraction(stream.average_rate or stream.guessed_rate or 30)
            dur = _ns(stream.duration, stream.time_base) if stream.duration else int((container.duration or 0) * 1000)
            if stream.codec_context is None or not stream.width or not stream.height:
                raise SourceError(f"{path}: video stream has no decodable picture size")
            orientation = frame_orientation(_first_frame(container, stream, path))
            width, height = orientation.display_size(stream.width, stream.height)
            return VideoInfo(path, width, height, rate, stream.frames or 0, dur, orientation)
    except SourceError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise SourceError(f"{path}: not a readable video ({_reason(exc)})") from None


def _first_frame(container, stream, path: Path):
    """The first picture that decodes (its side data says how it is shown); SourceError when none does."""
    stream.thread_type = "SLICE"
    try:
        for frame in container.decode(stream):
            return frame
    except av.error.FFmpegError as exc:
        raise SourceError(f"{path}: no picture could be decoded ({_reason(exc)})") from None
    raise SourceError(f"{path}: video stream holds no decodable frames")


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[0].strip() if ":" in text and "'" in text else text


class VideoFileSource:
    """Iterates VideoFrames. Raises SourceError for unreadable input, including corruption found mid-stream."""

    def __init__(self, path: Path, params: VideoSourceParams | None = None) -> None:
        self.params = params or VideoSourceParams()
        self.info = probe(Path(path))
        self.path = Path(path)

    @property
    def analysis_shape(self) -> tuple[int, int]:
        """(height, width) of the images `frames` yields, as displayed."""
        w, h = _analysis_size(self.info.width, self.info.height, self.params.max_side)
        return h, w

    def frames(self) -> Iterator[VideoFrame]:
        p = self.params
        try:
            container = av.open(str(self.path))
        except av.error.FFmpegError as exc:
            raise SourceError(f"{self.path}: not a readable video ({_reason(exc)})") from None
        with container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO" if p.decode_threads > 1 else "SLICE"
            stream.thread_count = p.decode_threads
            tb = Fraction(stream.time_base)
            nominal = int(NS_PER_S / self.info.rate) if self.info.rate else NS_PER_S // 30
            orientation = self.info.orientation
            w, h = _analysis_size(stream.width, stream.height, p.max_side)  # stored orientation
            first_pts: int | None = None
            index = 0
            try:
                for frame in container.decode(stream):
                    pts = frame.pts if frame.pts is not None else (index * nominal * tb.denominator) // (tb.numerator * NS_PER_S)
                    if first_pts is None:
                        first_pts = pts
                    t_ns = _ns(pts - first_pts, tb)
                    dur = _ns(frame.duration, tb) if frame.duration else nominal
                    image = frame.to_ndarray(format="rgb24", width=w, height=h, threads=p.decode_threads)
                    yield VideoFrame(index, t_ns, dur, self.info.width, self.info.height, orientation.apply(image))
                    index += 1
            except av.error.FFmpegError as exc:
                raise SourceError(f"{self.path}: corrupt or truncated video after frame {index} ({_reason(exc)})") from None
            if index == 0:
                raise SourceError(f"{self.path}: video stream holds no decodable frames")
