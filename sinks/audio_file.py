"""Rendered audio to a WAV (PCM 24-bit) or FLAC file, sized exactly in sample frames.

The file is opened when the sink is made, so an unwritable path fails before any work. The most recent block is held
back until the next one arrives, so `close(total_samples)` can still trim an overshooting last block; everything
earlier is on disk. The WAV header is rewritten every second of audio, so even a killed run leaves a readable file.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

from footfall.sinks.errors import SinkError, describe

PCM24_MAX = 8_388_607
WAV_HEADER_BYTES = 44
WAV_MAX_DATA_BYTES = 0xFFFF_FFFF - WAV_HEADER_BYTES
AUDIO_FILE_SUFFIXES = (".wav", ".flac")


def check_block(block: np.ndarray, channels: int, where: Path) -> np.ndarray:
    """The block as C-contiguous float32 (n, channels), or SinkError naming the output if its shape is wrong."""
    block = np.asarray(block, dtype=np.float32)
    if block.ndim != 2 or block.shape[1] != channels:
        raise SinkError(where, f"audio block must be (n, {channels}) float32, got shape {block.shape}")
    return np.ascontiguousarray(block)


def to_pcm24(block: np.ndarray) -> np.ndarray:
    """float32 (n, ch) in -1..1 to int32 holding 24-bit values (clipped, rounded)."""
    return np.rint(np.clip(block, -1.0, 1.0) * PCM24_MAX).astype(np.int32)


def audio_frame(block: np.ndarray, sample_format: str, layout: str, sample_rate: int, pts: int) -> av.AudioFrame:
    """A PyAV frame in an encoder's own sample format, from float32 (n, ch).

    Integer formats carry 24-bit precision (s32 holds it in the top bits, as FFmpeg's 24-bit encoders expect).
    """
    base = sample_format.rstrip("p")
    planar = sample_format.endswith("p")
    if base == "flt":
        data = np.clip(block, -1.0, 1.0)
    elif base == "s32":
        data = to_pcm24(block) << 8
    elif base == "s16":
        data = np.rint(np.clip(block, -1.0, 1.0) * 32767).astype(np.int16)
    else:
        raise ValueError(f"no conversion to sample format {sample_format}")
    data = np.ascontiguousarray(data.T) if planar else data.reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(data, format=sample_format, layout=layout)
    frame.sample_rate = sample_rate
    frame.pts = pts
    return frame


def layout_name(channels: int) -> str:
    return av.AudioLayout(f"{channels}c").name


class _WavWriter:
    """RIFF/WAVE PCM 24-bit, header patched as it grows so the file is valid up to the last patch."""

    def __init__(self, file: BinaryIO, sample_rate: int, channels: int):
        self.file = file
        self.frame_bytes = 3 * channels
        self.data_bytes = 0
        self.patch_every = sample_rate * self.frame_bytes
        self._since_patch = 0
        block_align = self.frame_bytes
        file.write(b"RIFF" + struct.pack("<I", 36) + b"WAVE")
        file.write(b"fmt " + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, sample_rate * block_align,
                                         block_align, 24))
        file.write(b"data" + struct.pack("<I", 0))
        file.flush()

    def write(self, block: np.ndarray) -> None:
        raw = to_pcm24(block).astype("<i4").view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
        if self.data_bytes + len(raw) > WAV_MAX_DATA_BYTES:
            raise OverflowError("WAV files end at 4 GiB; write .flac for longer audio")
        self.file.write(raw)
        self.data_bytes += len(raw)
        self._since_patch += len(raw)
        if self._since_patch >= self.patch_every:
            self._patch_header()

    def _patch_header(self) -> None:
        pad = self.data_bytes % 2
        self.file.seek(4)
        self.file.write(struct.pack("<I", 36 + self.data_bytes + pad))
        self.file.seek(40)
        self.file.write(struct.pack("<I", self.data_bytes))
        self.file.seek(0, 2)
        self.file.flush()
        self._since_patch = 0

    def close(self) -> None:
        if self.data_bytes % 2:
            self.file.write(b"\0")  # RIFF chunks are word aligned
        self._patch_header()
        self.file.close()


class _FlacWriter:
    """FLAC 24-bit through PyAV. STREAMINFO is completed on close; before that the stream is still decodable."""

    def __init__(self, path: Path, sample_rate: int, channels: int):
        self.container = av.open(str(path), "w", format="flac")
        try:
            self.stream = self.container.add_stream("flac", rate=sample_rate, layout=layout_name(channels))
            self.stream.codec_context.format = "s32"
            self.container.start_encoding()
        except BaseException:
            self.container.close()
            raise
        self.sample_rate = sample_rate
        self.layout = layout_name(channels)
        self.pts = 0

    def write(self, block: np.ndarray) -> None:
        frame = audio_frame(block, "s32", self.layout, self.sample_rate, self.pts)
        self.pts += block.shape[0]
        self.container.mux(self.stream.encode(frame))

    def close(self) -> None:
        try:
            self.container.mux(self.stream.encode(None))
        finally:
            self.container.close()


class AudioFileSink:
    """Consecutive float32 blocks to .wav (PCM 24-bit) or .flac, optionally padded or trimmed to an exact length."""

    def __init__(self, path: Path, sample_rate: int, channels: int = 2, total_samples: int | None = None):
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in AUDIO_FILE_SUFFIXES:
            raise SinkError(self.path, f"unsupported audio file type '{self.path.suffix}' (use .wav or .flac)")
        if sample_rate <= 0 or channels <= 0:
            raise SinkError(self.path, f"bad audio format: {sample_rate} Hz, {channels} channels")
        self.sample_rate = sample_rate
        self.channels = channels
        self.total_samples = total_samples
        self.samples_written = 0
        self._held: np.ndarray | None = None
        self._closed = False
        try:
            if suffix == ".wav":
                self._writer: _WavWriter | _FlacWriter = _WavWriter(open(self.path, "wb"), sample_rate, channels)
            else:
                self._writer = _FlacWriter(self.path, sample_rate, channels)
        except (OSError, av.FFmpegError) as exc:
            raise SinkError(self.path, f"cannot write: {describe(exc)}") from None

    def write(self, block: np.ndarray) -> None:
        block = check_block(block, self.channels, self.path)
        if self.total_samples is not None:
            block = block[: max(0, self.total_samples - self.samples_written)]
        if block.shape[0] == 0:
            return
        self._flush_held()
        self._held = block
        self.samples_written += block.shape[0]

    def close(self, total_samples: int | None = None) -> None:
        """Pads with silence or trims the held-back last block to `total_samples`, then finishes the file."""
        if self._closed:
            return
        target = total_samples if total_samples is not None else self.total_samples
        if target is not None:
            if target < self.samples_written:
                self._trim_held(target)
            self.total_samples = None
            while self.samples_written < target:
                n = min(target - self.samples_written, self.sample_rate)
                self.write(np.zeros((n, self.channels), np.float32))
        self._finish()

    def abort(self) -> None:
        """Cancel: keep what was written so far (no padding) and leave a valid file."""
        if not self._closed:
            self._finish()

    def _trim_held(self, target: int) -> None:
        on_disk = self.samples_written - (0 if self._held is None else self._held.shape[0])
        if target < on_disk:
            raise SinkError(self.path, f"cannot trim to {target} samples: {on_disk} are already written")
        assert self._held is not None
        self._held = self._held[: target - on_disk]
        self.samples_written = target

    def _flush_held(self) -> None:
        if self._held is not None and self._held.shape[0]:
            try:
                self._writer.write(self._held)
            except (OSError, OverflowError, av.FFmpegError) as exc:
                self._finish_after_error()
                raise SinkError(self.path, f"write failed: {describe(exc)}") from None
        self._held = None

    def _finish(self) -> None:
        self._flush_held()
        self._closed = True
        try:
            self._writer.close()
        except (OSError, av.FFmpegError) as exc:
            raise SinkError(self.path, f"cannot finish file: {describe(exc)}") from None

    def _finish_after_error(self) -> None:
        self._closed = True
        try:
            self._writer.close()
        except (OSError, av.FFmpegError):
            pass
