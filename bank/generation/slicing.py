"""Cuts generated clips into single footsteps, and rejects the ones a bank should not hold, counting why.

A generated clip holds a few steps (or none, or a drone). Each step starts at an onset of the clip's energy
envelope (`conditioning.find_onsets`, the onset finder recordings use) and runs until its envelope stays
`decay_db` under its peak, plus `tail_ms`, but never into the next step, past the clip or beyond `max_length_s`.
It is then trimmed, faded and loudness-normalised like an imported recording (`conditioning.shape_sample`).

Onsets are rises to within range_db of the clip's loudest after the sound fell rearm_db under that level; one
closer than min_step_ms to a step's start is inside that step. Such an inner hit that comes within
double_level_db of the step's first is a second contact: allowed once, roll_min_ms to roll_max_ms after the
onset (the toe of a heel-to-toe roll); any other makes the step a `double onset`.

Rejected, by reason: `silent` (a whole clip whose peak is under min_peak_dbfs), `clipped` (clipped_samples or
more samples at or over clip_level before normalisation), `double onset` (above), `too long` (still sounding
max_length_s after its onset), `too short` (less than min_length_ms of sound before the clip or the next step).
Pure NumPy.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from footfall.bank.compare import envelope_db
from footfall.bank.conditioning import find_onsets, shape_sample

ATTACK_MS = 15.0  # a hit's peak comes within this of its onset
REASONS = ("silent", "clipped", "double onset", "too long", "too short")


@dataclass(frozen=True)
class SliceParams:
    """How generated clips become samples (documented in config/default.toml [bank_render.slicing])."""

    onset_threshold_db: float = 15.0
    envelope_ms: float = 1.0
    rearm_db: float = 12.0
    range_db: float = 24.0
    min_step_ms: float = 300.0
    double_level_db: float = 6.0
    roll_min_ms: float = 50.0
    roll_max_ms: float = 200.0
    decay_db: float = 30.0
    tail_ms: float = 20.0
    max_length_s: float = 1.0
    min_length_ms: float = 40.0
    min_peak_dbfs: float = -60.0
    clip_level: float = 0.999
    clipped_samples: int = 3
    pre_onset_ms: float = 5.0
    fade_in_ms: float = 2.0
    fade_out_ms: float = 30.0
    target_rms_dbfs: float = -20.0
    max_peak_dbfs: float = -1.0

    def __post_init__(self) -> None:
        if min(self.envelope_ms, self.max_length_s, self.min_length_ms, self.decay_db, self.clip_level) <= 0:
            raise ValueError("envelope_ms, max_length_s, min_length_ms, decay_db and clip_level must be positive")
        if self.roll_min_ms > self.roll_max_ms or self.roll_max_ms >= self.min_step_ms:
            raise ValueError("need roll_min_ms <= roll_max_ms < min_step_ms")
        if min(self.min_step_ms, self.double_level_db, self.tail_ms, self.pre_onset_ms, self.fade_in_ms,
               self.fade_out_ms, self.rearm_db, self.range_db) < 0:
            raise ValueError("gaps, tails, fades, pre-roll and rearm_db must not be negative")
        if self.fade_in_ms > self.pre_onset_ms:
            raise ValueError("fade_in_ms must not exceed pre_onset_ms (the fade would soften the onset)")
        if self.clipped_samples < 1:
            raise ValueError("clipped_samples must be at least 1")
        if self.min_length_ms * 1e-3 >= self.max_length_s:
            raise ValueError("min_length_ms must be shorter than max_length_s")


@dataclass(frozen=True)
class Step:
    """One usable step: the shaped sample, its onset within it, and where it began in its clip (sample frames)."""

    audio: np.ndarray
    onset: int
    clip_onset: int


def slice_steps(clip: np.ndarray, sample_rate: int, params: SliceParams, rejected: Counter) -> list[Step]:
    """The usable single steps in one mono clip; every rejection is counted in `rejected` by reason."""
    x = np.asarray(clip, dtype=np.float64)
    x = x - float(np.mean(x)) if x.size else x
    if x.size == 0 or float(np.max(np.abs(x))) <= 10 ** (params.min_peak_dbfs / 20.0):
        rejected["silent"] += 1
        return []
    sr = sample_rate
    ms = 1e-3 * sr
    onsets = find_onsets(x, sr, params.onset_threshold_db, params.envelope_ms, params.rearm_db, params.range_db)
    starts, inner = [], {}
    for onset in onsets:  # a rise soon after a step's start is part of that step (its toe, or a second step)
        if not starts or onset - starts[-1] >= params.min_step_ms * ms:
            starts.append(onset)
            inner[onset] = []
        else:
            inner[starts[-1]].append(onset)
    env = envelope_db(x, sr, params.envelope_ms)
    edge = int(round(params.envelope_ms * ms))  # the centred envelope rises this much before an onset
    raw = np.abs(np.asarray(clip, dtype=np.float64))
    pre = int(round(params.pre_onset_ms * ms))
    max_len = int(round(params.max_length_s * sr))
    steps = []
    for k, onset in enumerate(starts):
        following = starts[k + 1] if k + 1 < len(starts) else x.size
        end = max(onset + 1, following - edge if following < x.size else x.size)
        peak = onset + int(np.argmax(env[onset:end]))
        loud = np.flatnonzero(env[peak:end] >= env[peak] - params.decay_db)
        decayed = peak + int(loud[-1]) + 1
        if decayed - onset > max_len or (decayed >= x.size and x.size - onset > max_len):
            rejected["too long"] += 1
            continue
        stop = min(decayed + int(round(params.tail_ms * ms)), following - pre if following < x.size else x.size)
        if stop - onset < params.min_length_ms * ms:
            rejected["too short"] += 1
            continue
        if _double_onset(env, onset, inner[onset], params, ms):
            rejected["double onset"] += 1
            continue
        start = max(0, onset - pre)
        if int(np.count_nonzero(raw[start:stop] >= params.clip_level)) >= params.clipped_samples:
            rejected["clipped"] += 1
            continue
        audio, onset_in = shape_sample(x, onset, stop, sr, params.pre_onset_ms, params.fade_in_ms,
                                       params.fade_out_ms, params.target_rms_dbfs, params.max_peak_dbfs)
        steps.append(Step(audio, onset_in, onset))
    return steps


def _double_onset(env: np.ndarray, onset: int, inner: list[int], params: SliceParams, ms: float) -> bool:
    """Two contacts in one step: a later onset inside it whose hit comes within double_level_db of the first
    hit's, unless it is the one toe contact of a heel-to-toe roll (roll_min_ms..roll_max_ms after the onset)."""
    attack = int(ATTACK_MS * ms)
    first = float(env[onset:onset + attack].max())
    hits = [o for o in inner if float(env[o:o + attack].max()) >= first - params.double_level_db]
    rolls = [o for o in hits if params.roll_min_ms * ms <= o - onset <= params.roll_max_ms * ms]
    return len(hits) > 1 or (len(hits) == 1 and not rolls)
