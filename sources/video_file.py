"""Decodes a video file into VideoFrames with integer-nanosecond media time, through PyAV.

Media time 0 is the first frame's presentation time, so audio sample 0 lines up with the first picture. Frames are
counted in decode output order (every decoded frame, as the evaluation labels count them). The analysis image is
scaled down (by area, in YUV, to `scaled_side`) before the RGB conversion when the frame is larger than `max_side`:
up to there converting the stored picture costs less than scaling it (1080x1920: 4.9 ms a frame decoded, converted
and copied for the pose workers, against 7.6 scaled to 720x1280; 4K frames are cheapest scaled to 1280). Both run on
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


MAX_SIDE = 16384  # FFmpeg's own decoders stop at 16384 a side
MAX_PIXELS = 80_000_000  # 8K (7680x4320) is 33 megapixels


@dataclass(frozen=True)
class VideoSourceParams:
    max_side: int = 1920  # frames whose longest side is at most this are analysed as stored ...
    scaled_side: int = 1280  # ... larger ones scaled down to this longest side
    decode_threads: int = 1  # decoder and RGB conversion threads; more compete with pose workers on small machines

    def __post_init__(self) -> None:
        if not 64 <= self.scaled_side <= self.max_side:
            raise ValueError("need 64 <= scaled_side <= max_side")
        if self.decode_threads < 1:
            raise ValueError("decode_threads must be at least 1")


def analysis_size(width: int, height: int, params: VideoSourceParams) -> tuple[int, int]:
    if max(width, height) <= params.max_side:
        return width, height
    scale = params.scaled_side / max(width, height)
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


def ticks_to_ns(ticks: int, time_base: Fraction) -> int:
    """A stream timestamp in integer nanoseconds (exact, rounded down)."""
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
            dur = ticks_to_ns(stream.duration, stream.time_base) if stream.duration else int((container.duration or 0) * 1000)
            if stream.codec_context is None:
                raise SourceError(f"{path}: no decoder for its video (an unknown codec)")
            if not stream.width or not stream.height:
                raise SourceError(f"{path}: video stream has no decodable picture size")
            if max(stream.width, stream.height) > MAX_SIDE or stream.width * stream.height > MAX_PIXELS:
                raise SourceError(f"{path}: a {stream.width}x{stream.height} picture is beyond what footfall analyses "
                                  f"(at most {MAX_SIDE} a side and {MAX_PIXELS // 10**6} megapixels)")
            orientation = frame_orientation(_first_frames(container, stream, path))
            width, height = orientation.display_size(stream.width, stream.height)
            return VideoInfo(path, width, height, rate, stream.frames or 0, dur, orientation)
    except SourceError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, LookupError) as exc:
        raise SourceError(f"{path}: not a readable video ({_reason(exc)})") from None


def analysis_image(frame: av.VideoFrame, width: int, height: int, threads: int):
    """The frame as RGB at the analysis size. A picture that must shrink is scaled in YUV first, by area, and then
    converted at the small size: swscale's scaling and colour conversion in one pass take 14 ms a 4K frame (bilinear;
    9 by area), the two passes 5.6 (1080x1920 to 720x1280: 6.6 against 3.2). A picture of the right size is converted
    without a scaler at all (0.35 ms a 720p frame, against 0.9 when the size is passed)."""
    if (frame.width, frame.height) == (width, height):
        return frame.to_ndarray(format="rgb24", threads=threads)
    small = frame.reformat(width=width, height=height, format="yuv420p", interpolation="AREA", threads=threads)
    return small.to_ndarray(format="rgb24", threads=threads)


def _first_frames(container, stream, path: Path):
    """The first picture that decodes (its side data says how it is shown), once a second one shows that the file is
    a moving picture; SourceError when there are not two."""
    stream.thread_type = "SLICE"
    name = stream.codec_context.name
    found = []
    try:
        for frame in container.decode(stream):
            found.append(frame)
            if len(found) == 2:
                return found[0]
    except av.error.DecoderNotFoundError:
        raise SourceError(f"{path}: no decoder for its {name} video") from None
    except av.error.FFmpegError as exc:
        if not found:
            raise SourceError(f"{path}: no {name} picture could be decoded ({_reason(exc)})") from None
    if not found:
        raise SourceError(f"{path}: video stream holds no decodable frames")
    raise SourceError(f"{path}: holds a single picture, not a moving one (steps need a video)")


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(":")[0].strip() if ":" in text and "'" in text else text


class VideoFileSource:
    """Iterates VideoFrames. Raises SourceError for unreadable input, including corruption found mid-stream."""

    def __init__(self, path: Path, params: VideoSourceParams | None = None, info: VideoInfo | None = None) -> None:
        """`info`: what `probe` already said of this file (it decodes the first pictures: not done twice)."""
        self.params = params or VideoSourceParams()
        self.info = info if info is not None else probe(Path(path))
        self.path = Path(path)
        self.damaged = 0  # of the last `frames` run: packets that did not decode, pictures whose time did not follow

    @property
    def analysis_shape(self) -> tuple[int, int]:
        """(height, width) of the images `frames` yields, as displayed."""
        w, h = analysis_size(self.info.width, self.info.height, self.params)
        return h, w

    def frames(self) -> Iterator[VideoFrame]:
        """Every picture that decodes, in presentation order, with media time from 0. A packet that does not decode
        is skipped and counted (`damaged`), as is a picture whose time does not follow the one before; a file that
        ends early or whose container breaks off yields what came before. SourceError when nothing decodes."""
        p = self.params
        self.damaged = 0
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
            w, h = analysis_size(stream.width, stream.height, p)  # stored orientation
            first_pts: int | None = None
            last_ns: int | None = None
            index = 0
            for frame in self._decoded(container, stream):
                if frame.pts is None:
                    t_ns = 0 if last_ns is None else last_ns + nominal
                else:
                    first_pts = frame.pts if first_pts is None else first_pts
                    t_ns = ticks_to_ns(frame.pts - first_pts, tb)
                if last_ns is not None and t_ns <= last_ns:
                    self.damaged += 1  # a repeated or out-of-order time: no picture can be placed there
                    continue
                last_ns = t_ns
                dur = ticks_to_ns(frame.duration, tb) if frame.duration else nominal
                image = analysis_image(frame, w, h, p.decode_threads)
                yield VideoFrame(index, t_ns, dur, self.info.width, self.info.height, orientation.apply(image))
                index += 1
            if index == 0:
                raise SourceError(f"{self.path}: video stream holds no decodable frames")

    def _decoded(self, container, stream) -> Iterator[av.VideoFrame]:
        """The stream's pictures, packet by packet, so that one damaged packet costs only its own pictures."""
        packets = container.demux(stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                return
            except av.error.FFmpegError:
                self.damaged += 1
                break  # the container broke off: flush what the decoder holds
            try:
                yield from packet.decode()
            except av.error.FFmpegError:
                self.damaged += 1
        try:
            yield from stream.codec_context.decode(None)
        except av.error.FFmpegError:
            pass
