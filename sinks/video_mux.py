"""The input video with the footstep track muxed in: video packets copied untouched, audio exact to the sample.

Timing: audio sample 0 is the video's first frame (the smallest video pts). The footstep track's pts are in 1/rate
and offset by that start, so the two line up in the output container exactly as they did in the input.

Interleaving: each `write` encodes the block, then copies input packets whose decode time is at or before the end
of the audio written so far. Memory stays bounded by the input's own interleaving distance, and a cancel (`abort`)
leaves a valid file with both streams ending at the same time.

Default footstep codecs, chosen because they decode back to exactly the video's duration. Measured with this FFmpeg
(libavformat 62) on a 13.37 s 720p clip (641600 samples at 48 kHz): flac, alac and pcm_s24le decode to 641600 in
every container; aac decodes to 642048 (its edit list trims the encoder priming at the start, and with the movie
time scale set to the audio rate it states the exact duration, but FFmpeg's decoder ignores the end of the edit list,
so the last frame's padding remains); libopus gives 641928 in mp4 and 641600 in mkv. Hence mp4 -> flac,
mov -> pcm_s24le, mkv -> flac; `audio_codec` picks any other (aac for the widest player support).

Matroska stores timestamps in milliseconds: a video copied into .mkv keeps its frames and order but its timestamps
(and duration) are rounded to 1 ms; the footstep track still decodes to the exact sample count. Matroska also has no
negative timestamps: copying an AAC track whose priming starts before 0 shifts every stream by the same amount.
"""
from __future__ import annotations

import errno
import math
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Literal

import av
import numpy as np

from footfall.engine.messages import NS_PER_S, ns_to_samples
from footfall.sinks.audio_file import audio_frame, check_block, layout_name
from footfall.sinks.errors import SinkError, describe

OriginalAudio = Literal["track", "mix", "drop"]
DEFAULT_AUDIO_CODECS = {".mp4": "flac", ".mov": "pcm_s24le", ".mkv": "flac"}
FOOTSTEP_TRACK_TITLE = "footsteps"


@dataclass(frozen=True)
class VideoTimeline:
    """Where the first video stream starts and ends, in its own time base (from the packets, not the header)."""

    time_base: Fraction
    start_pts: int
    end_pts: int

    @property
    def start_ns(self) -> int:
        return ticks_to_ns(self.start_pts, self.time_base)

    @property
    def duration_ns(self) -> int:
        return ticks_to_ns(self.end_pts - self.start_pts, self.time_base)


def ticks_to_ns(ticks: int, time_base: Fraction) -> int:
    """Nearest integer nanosecond of a timestamp (exact rational arithmetic)."""
    return round(Fraction(ticks) * time_base * NS_PER_S)


def read_timeline(path: Path) -> VideoTimeline:
    """First video stream's first frame pts and end of its last frame (pts + duration), by demuxing (no decoding).

    A packet without a duration (some containers) lasts until the next frame, or one nominal frame at the end.
    """
    path = Path(path)
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise SinkError(path, "has no video stream")
            stream = container.streams.video[0]
            time_base = stream.time_base
            pts = []
            ends = []
            for packet in container.demux(stream):
                if packet.pts is None:
                    continue
                pts.append(packet.pts)
                ends.append(packet.pts + (packet.duration or 0))
    except (OSError, av.FFmpegError) as exc:
        raise SinkError(path, f"cannot read video: {describe(exc)}") from None
    if not pts:
        raise SinkError(path, "video stream has no frames")
    start, last = min(pts), max(pts)
    end = max(ends)
    if end <= last:
        rate = stream.average_rate or stream.guessed_rate
        nominal = round(1 / (Fraction(rate) * time_base)) if rate else 0
        end = last + max(nominal, 1)
    return VideoTimeline(Fraction(time_base), start, end)


def video_duration_ns(path: Path) -> int:
    """End of the last video frame minus the first frame's pts, in integer ns. SinkError if there is no video."""
    return read_timeline(Path(path)).duration_ns


class _SampleQueue:
    """Decoded original audio waiting to be mixed, indexed by output sample frame (0 = the video's first frame)."""

    def __init__(self, channels: int):
        self.channels = channels
        self.chunks: deque[np.ndarray] = deque()
        self.anchored = False
        self.start = 0  # sample frame of the first queued sample
        self.end = 0

    def put(self, data: np.ndarray, at: int | None = None) -> None:
        """Appends `data`; the first call places it at sample `at`, later ones follow on without gaps."""
        if not self.anchored:
            self.anchored = True
            self.start = self.end = at or 0
        if self.end < 0:  # the original audio begins before the video: drop what precedes sample 0
            skip = min(-self.end, data.shape[0])
            data = data[skip:]
            self.start = self.end = self.end + skip
        if data.shape[0]:
            self.chunks.append(data)
            self.end += data.shape[0]

    def take(self, first: int, n: int) -> np.ndarray:
        """Samples [first, first + n): queued audio where there is some, silence elsewhere. Drops what precedes."""
        out = np.zeros((n, self.channels), np.float32)
        while self.chunks and self.start < first + n:
            chunk = self.chunks[0]
            lo, hi = max(first, self.start), min(first + n, self.start + chunk.shape[0])
            if hi > lo:
                out[lo - first : hi - first] = chunk[lo - self.start : hi - self.start]
            used = min(chunk.shape[0], first + n - self.start)
            if used == chunk.shape[0]:
                self.chunks.popleft()
            else:
                self.chunks[0] = chunk[used:]
            self.start += used
        return out


class VideoMuxSink:
    """Writes the input's first video stream (copied) with the footstep track, and the original audio by option."""

    def __init__(
        self,
        input_path: Path,
        output_path: Path,
        sample_rate: int,
        channels: int = 2,
        original_audio: OriginalAudio = "track",
        audio_codec: str | None = None,
        duration_ns: int | None = None,
        original_gain: float = 1.0,
    ):
        self.input_path = Path(input_path)
        self.path = Path(output_path)
        suffix = self.path.suffix.lower()
        if suffix not in DEFAULT_AUDIO_CODECS:
            raise SinkError(self.path, f"unsupported video file type '{self.path.suffix}' (use .mp4, .mov or .mkv)")
        if original_audio not in ("track", "mix", "drop"):
            raise SinkError(self.path, f"original_audio must be track, mix or drop, not {original_audio!r}")
        if self.path.resolve() == self.input_path.resolve():
            raise SinkError(self.path, "output would overwrite the input video")
        self.sample_rate = sample_rate
        self.channels = channels
        self.original_audio = original_audio
        self.original_gain = original_gain
        self.timeline = read_timeline(self.input_path)
        self.total_samples = ns_to_samples(
            self.timeline.duration_ns if duration_ns is None else duration_ns, sample_rate)
        self.samples_written = 0
        self._closed = False
        self._pending: deque[av.Packet] = deque()
        self._original: _SampleQueue | None = None
        self._open_input()
        self._open_output(DEFAULT_AUDIO_CODECS[suffix] if audio_codec is None else audio_codec)

    # -- setup ---------------------------------------------------------------------------------------------------
    def _open_input(self) -> None:
        try:
            self._input = av.open(str(self.input_path))
        except (OSError, av.FFmpegError) as exc:
            raise SinkError(self.input_path, f"cannot read video: {describe(exc)}") from None
        self._video_in = self._input.streams.video[0]
        audio_in = list(self._input.streams.audio)
        self._copied_audio_in = audio_in if self.original_audio == "track" else []
        self._mix_in = audio_in[0] if self.original_audio == "mix" and audio_in else None
        if self._mix_in is not None:
            self._original = _SampleQueue(self.channels)
            self._resampler = av.AudioResampler(format="flt", layout=layout_name(self.channels),
                                                rate=self.sample_rate)
        self._demux: Iterator[av.Packet] = self._input.demux(
            [self._video_in, *self._copied_audio_in, *([self._mix_in] if self._mix_in is not None else [])])
        self._demux_done = False

    def _container_options(self) -> dict[str, str]:
        """mp4/mov edit lists are in the movie time scale (FFmpeg's default: 1/1000 s); the audio rate makes them
        exact to the sample, so players that honour edit lists stop the audio exactly where the video ends."""
        return {"movie_timescale": str(self.sample_rate)} if self.path.suffix.lower() in (".mp4", ".mov") else {}

    def _open_output(self, codec: str) -> None:
        try:
            # the file itself is only created by start_encoding
            self._output = av.open(str(self.path), "w", container_options=self._container_options())
        except (OSError, av.FFmpegError) as exc:
            self._input.close()
            raise SinkError(self.path, f"cannot write: {describe(exc)}") from None
        suffix = self.path.suffix.lower()
        storable = self._output.supported_codecs
        if codec not in storable:
            self._close_quietly()
            raise SinkError(self.path, f"audio codec '{codec}' cannot be stored in {suffix} "
                            f"(try {DEFAULT_AUDIO_CODECS[suffix]})")
        for stream in self._copied_audio_in:
            if stream.codec_context.name not in storable:
                self._close_quietly()
                raise SinkError(self.path, f"the input's {stream.codec_context.name} audio cannot be copied into "
                                f"{suffix}; use original_audio 'mix' or another container")
        try:
            self._video_out = self._output.add_stream_from_template(self._video_in)
            self._audio_out = self._output.add_stream(codec, rate=self.sample_rate, layout=layout_name(self.channels))
            self._audio_out.time_base = Fraction(1, self.sample_rate)
            self._audio_out.metadata["title"] = FOOTSTEP_TRACK_TITLE
            self._audio_out.metadata["handler_name"] = FOOTSTEP_TRACK_TITLE
            self._copies = {self._video_in.index: self._video_out}
            for stream in self._copied_audio_in:
                self._copies[stream.index] = self._output.add_stream_from_template(stream)
            self._output.start_encoding()
        except (OSError, ValueError, av.FFmpegError) as exc:
            self._close_quietly()
            if getattr(exc, "errno", None) != errno.EINVAL:
                raise SinkError(self.path, f"cannot write: {describe(exc)}") from None
            self.path.unlink(missing_ok=True)  # a header that failed leaves no valid file behind
            copied = ", ".join(s.codec_context.name for s in self._copied_audio_in)
            raise SinkError(self.path, f"{suffix} cannot hold these streams (footstep codec {codec}"
                            + (f", copied original audio {copied}" if copied else "") + ")") from None
        self._sample_format = self._audio_out.codec_context.format.name
        self._layout = layout_name(self.channels)
        self._pts_offset = ns_to_samples(self.timeline.start_ns, self.sample_rate)

    # -- streaming -----------------------------------------------------------------------------------------------
    def write(self, block: np.ndarray) -> None:
        """Footsteps from sample `samples_written` on; anything past the video's end is dropped."""
        if self._closed:
            raise SinkError(self.path, "write after close")
        block = check_block(block, self.channels, self.path)[: max(0, self.total_samples - self.samples_written)]
        if block.shape[0] == 0:
            return
        try:
            if self._original is not None:
                self._decode_original_until(self.samples_written + block.shape[0])
                block = block + self.original_gain * self._original.take(self.samples_written, block.shape[0])
            frame = audio_frame(block, self._sample_format, self._layout, self.sample_rate,
                                self._pts_offset + self.samples_written)
            self._output.mux(self._audio_out.encode(frame))
            self.samples_written += block.shape[0]
            self._copy_until(self._audio_end_ns())
        except (OSError, av.FFmpegError) as exc:
            self._close_quietly()
            raise SinkError(self.path, f"write failed: {describe(exc)}") from None

    def close(self) -> None:
        """Pads the audio to the video's duration (exact to the sample), copies the rest of the video, finishes."""
        if self._closed:
            return
        while self.samples_written < self.total_samples:
            n = min(self.total_samples - self.samples_written, self.sample_rate)
            self.write(np.zeros((n, self.channels), np.float32))
        self._finish(copy_rest=True)

    def abort(self) -> None:
        """Cancel: finish a valid, playable file with what was written so far; both streams end together."""
        if not self._closed:
            self._finish(copy_rest=False)

    def _finish(self, copy_rest: bool) -> None:
        try:
            self._output.mux(self._audio_out.encode(None))
            self._copy_until(None if copy_rest else self._audio_end_ns())  # a cancel at 0 still keeps frame one
        except (OSError, av.FFmpegError) as exc:
            self._close_quietly()
            raise SinkError(self.path, f"cannot finish file: {describe(exc)}") from None
        self._closed = True
        try:
            self._output.close()
        except (OSError, av.FFmpegError) as exc:
            raise SinkError(self.path, f"cannot finish file: {describe(exc)}") from None
        finally:
            self._input.close()

    def _close_quietly(self) -> None:
        self._closed = True
        for container in (self._output, self._input):
            try:
                container.close()
            except (OSError, av.FFmpegError, AttributeError):
                pass

    # -- packet copying ------------------------------------------------------------------------------------------
    def _audio_end_ns(self) -> int:
        return self.timeline.start_ns + self.samples_written * NS_PER_S // self.sample_rate

    def _packet_ns(self, packet: av.Packet) -> int:
        ts = packet.dts if packet.dts is not None else packet.pts
        return ticks_to_ns(ts, packet.time_base) if ts is not None else -(1 << 62)

    def _copy_until(self, t_ns: int | None) -> None:
        """Muxes input packets (in file order) whose decode time is at or before `t_ns` (None: all of them)."""
        limit = math.inf if t_ns is None else t_ns
        while True:
            while self._pending and self._packet_ns(self._pending[0]) <= limit:
                packet = self._pending.popleft()
                packet.stream = self._copies[packet.stream_index]
                self._output.mux(packet)
            if self._pending or self._demux_done:
                return
            self._pull_packet()

    def _pull_packet(self) -> None:
        """Reads one input packet: copies are queued, the mix source is decoded into the sample queue."""
        packet = next(self._demux, None)
        if packet is None:
            self._demux_done = True
            if self._original is not None:
                self._resample_into_queue(None)
            return
        if packet.size == 0:  # demux's flush packet
            return
        if self._mix_in is not None and packet.stream_index == self._mix_in.index:
            for frame in packet.decode():
                self._resample_into_queue(frame)
        else:
            self._pending.append(packet)

    def _decode_original_until(self, sample: int) -> None:
        assert self._original is not None
        while self._original.end < sample and not self._demux_done:
            self._pull_packet()

    def _resample_into_queue(self, frame: av.AudioFrame | None) -> None:
        assert self._original is not None
        for out in self._resampler.resample(frame):
            at = None
            if not self._original.anchored and out.pts is not None:
                at = ns_to_samples(ticks_to_ns(out.pts, out.time_base) - self.timeline.start_ns, self.sample_rate)
            self._original.put(out.to_ndarray().reshape(-1, self.channels), at)
