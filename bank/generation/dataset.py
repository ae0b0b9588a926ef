"""Training clips for LoRA fine-tuning, from a folder of footstep recordings laid out `<surface>/<footwear>/*.wav`.

Recordings of footsteps are often takes of a whole walk. Each file is cut at its silences into single steps or short
step sequences (a heel-to-toe roll stays one piece: only gaps longer than `min_silence_ms` cut), every piece is
conditioned the way `footfall bank import` conditions a recording (trimmed a few milliseconds before its onset,
faded, normalised to one loudness: `folder.condition`), and captioned from its folder names. Batches are padded or
cropped to the model's window, with the `seconds_start` / `seconds_total` conditioning stable-audio-tools' own
dataset gives (whole seconds: the chunk's offset, floored, and the clip's length, rounded up).

Pure NumPy; decoding and resampling are `folder.read_audio`'s.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from footfall.bank.compare import envelope_db
from footfall.bank.folder import FolderParams, condition, list_recordings, read_audio
from footfall.bank.format import BankError


@dataclass(frozen=True)
class TrainDataParams:
    """How recordings become training clips.

    min_silence_ms: a gap this long under the activity threshold separates two clips (shorter gaps stay inside one).
    threshold_db: activity is the envelope above the file's noise floor (10th percentile) plus this, and at most
    range_db under its peak. min_clip_ms: shorter active stretches are clicks, not steps, and are dropped.
    pre_roll_ms / post_roll_ms: audio kept before an active stretch and after it (the decay under the threshold).
    max_clip_s: longer stretches are split at their quietest point (0: the model's window).
    target_rms_dbfs: loudness of every clip (active-part RMS, as `footfall bank import`).
    Each clip's caption is the prompt `footfall bank render` gives its surface and footwear (config/prompts.toml),
    so an adapter is trained on the words it is rendered with.
    """

    min_silence_ms: float = 150.0
    threshold_db: float = 20.0
    range_db: float = 50.0
    envelope_ms: float = 10.0
    min_clip_ms: float = 40.0
    pre_roll_ms: float = 20.0
    post_roll_ms: float = 150.0
    max_clip_s: float = 4.0
    target_rms_dbfs: float = -20.0

    def __post_init__(self) -> None:
        if min(self.min_silence_ms, self.min_clip_ms, self.pre_roll_ms, self.post_roll_ms) < 0:
            raise ValueError("min_silence_ms, min_clip_ms, pre_roll_ms and post_roll_ms must not be negative")
        if self.threshold_db <= 0 or self.range_db <= 0 or self.envelope_ms <= 0:
            raise ValueError("threshold_db, range_db and envelope_ms must be positive")
        if self.max_clip_s < 0:
            raise ValueError("max_clip_s must not be negative (0: the model's window)")


@dataclass(frozen=True)
class TrainingClip:
    """One conditioned piece of a recording: mono float32 at the model's rate, and what the model is told of it."""

    audio: np.ndarray
    caption: str
    surface: str
    footwear: str
    source: str  # path relative to the data folder, and where in it the clip starts

    def seconds_total(self, sample_rate: int) -> int:
        return int(math.ceil(self.audio.size / sample_rate))


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def _split_long(start: int, stop: int, env: np.ndarray, longest: int, shortest: int) -> list[tuple[int, int]]:
    """[start, stop) cut at its quietest points (away from either end) until no piece is longer than `longest`."""
    if stop - start <= longest:
        return [(start, stop)]
    lo, hi = start + shortest, stop - shortest
    cut = lo + int(np.argmin(env[lo:hi])) if hi > lo else start + longest
    return _split_long(start, cut, env, longest, shortest) + _split_long(cut, stop, env, longest, shortest)


def find_segments(audio: np.ndarray, sample_rate: int, params: TrainDataParams,
                  max_samples: int | None = None) -> list[tuple[int, int]]:
    """[start, stop) sample ranges of the steps or step sequences in a recording, separated by silences."""
    x = np.asarray(audio, dtype=np.float64)
    if x.size == 0:
        return []
    env = envelope_db(x, sample_rate, params.envelope_ms)
    peak, floor = float(env.max()), float(np.percentile(env, 10))
    if peak - floor < params.threshold_db:
        return []  # steady noise or silence: nothing stands out
    active = env >= max(floor + params.threshold_db, peak - params.range_db)
    ms = sample_rate / 1000.0
    runs = _runs(active)
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and a - merged[-1][1] < params.min_silence_ms * ms:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    longest = int(params.max_clip_s * sample_rate) if params.max_clip_s > 0 else x.size
    if max_samples is not None:
        longest = min(longest, max_samples)
    pre, post = int(params.pre_roll_ms * ms), int(params.post_roll_ms * ms)
    segments: list[tuple[int, int]] = []
    for i, (a, b) in enumerate(merged):
        if b - a < params.min_clip_ms * ms:
            continue
        start = max(0, a - pre, merged[i - 1][1] if i else 0)
        stop = min(x.size, b + post, merged[i + 1][0] - pre if i + 1 < len(merged) else x.size)
        segments.extend(_split_long(start, max(stop, b), env, max(longest, 1), int(params.min_clip_ms * ms)))
    return segments


def load_training_clips(directory: Path, sample_rate: int, window: int,
                        params: TrainDataParams | None = None) -> list[TrainingClip]:
    """Every usable clip under `directory`. BankError (one line) for an empty folder, an unreadable file (named)
    or a folder with no usable segment."""
    params = params or TrainDataParams()
    directory = Path(directory)
    if not directory.is_dir():
        raise BankError(f"{directory}: not a directory")
    recordings = list_recordings(directory)
    if not recordings:
        raise BankError(f"{directory}: no recordings found (expected <surface>/<footwear>/*.wav)")
    longest = window if params.max_clip_s <= 0 else min(window, int(params.max_clip_s * sample_rate))
    conditioning = FolderParams(sample_rate=sample_rate, target_rms_dbfs=params.target_rms_dbfs,
                                max_length_s=longest / sample_rate)
    from footfall.bank.generation.prompts import load_prompts

    prompts = load_prompts()
    clips: list[TrainingClip] = []
    for surface, footwear, _intensity, path in recordings:
        audio = read_audio(path, sample_rate)
        rel = path.relative_to(directory).as_posix()
        for start, stop in find_segments(audio, sample_rate, params, longest):
            where = f"{rel}@{start / sample_rate:.3f}s"
            try:
                clip, _onset = condition(audio[start:stop], conditioning, where)
            except BankError:
                continue  # a silent piece: nothing to learn from
            clips.append(TrainingClip(clip, prompts.prompt(surface, footwear), surface, footwear, where))
    if not clips:
        raise BankError(f"{directory}: no usable segments in {len(recordings)} recording(s) "
                        f"(every file is silent, steady noise or shorter than {params.min_clip_ms:g} ms of sound)")
    return clips


def make_batch(clips: list[TrainingClip], indices, window: int, channels: int,
               sample_rate: int) -> tuple[np.ndarray, list[dict]]:
    """(audio [batch, channels, window] float32, metadata per clip) for stable-audio-tools' conditioners: clips are
    placed at the window's start, padded with silence or cropped, mono copied to every channel."""
    audio = np.zeros((len(indices), channels, window), np.float32)
    metadata = []
    for row, i in enumerate(indices):
        clip = clips[int(i)]
        n = min(window, clip.audio.size)
        audio[row, :, :n] = clip.audio[:n]
        metadata.append({"prompt": clip.caption, "seconds_start": 0, "seconds_total": clip.seconds_total(sample_rate)})
    return audio, metadata
