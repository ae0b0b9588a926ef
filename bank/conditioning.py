"""From raw audio to a bank sample: where a step starts, and the trim, fades and loudness every sample gets.

One implementation serves user recordings (`folder.py`: one step per file) and generated clips
(`generation/slicing.py`: several steps per clip), so both kinds of sample sit beside the procedural ones at the
same loudness with the same pre-roll. Pure NumPy.
"""
from __future__ import annotations

import numpy as np

from footfall.bank.compare import active_rms_dbfs, envelope_db


def _levels(env_db: np.ndarray, threshold_db: float, range_db: float = 40.0) -> tuple[float, float, float]:
    """(floor, trigger, settle) in dB: the noise floor is a low percentile of the envelope; the trigger sits
    threshold_db over it (and at least within range_db, at most 6 dB under the peak); the settle level, half-way
    between floor and trigger, is where an onset is walked back to."""
    peak_db = float(env_db.max())
    floor_db = float(np.percentile(env_db, 10))
    trigger_db = min(max(floor_db + threshold_db, peak_db - range_db), peak_db - 6.0)
    settle_db = min(floor_db + 0.5 * (trigger_db - floor_db), trigger_db - 3.0)
    return floor_db, trigger_db, settle_db


def _walk_back(env_db: np.ndarray, first: int, settle_db: float, win: int, not_before: int = 0) -> int:
    """The sample where the rise that crossed the trigger at `first` left the floor."""
    quiet = np.flatnonzero(env_db[not_before:first] < settle_db)
    if not quiet.size:
        return first if not_before else min(first, win // 2)
    start = not_before + int(quiet[-1]) + 1
    # The moving window centres each value: the true start is up to half a window later than the first raised value.
    return min(first, start + win // 2)


def find_onset(audio: np.ndarray, sample_rate: int, threshold_db: float = 15.0, envelope_ms: float = 1.0) -> int:
    """Sample index where the (first) step starts: the first rise of the energy envelope above the noise floor,
    refined back to where the signal leaves the floor, so the onset lands on the transient's first samples rather
    than on its loud middle."""
    onsets = find_onsets(audio, sample_rate, threshold_db, envelope_ms)
    return onsets[0] if onsets else 0


def find_onsets(audio: np.ndarray, sample_rate: int, threshold_db: float = 15.0, envelope_ms: float = 1.0,
                rearm_db: float = 12.0, range_db: float = 40.0, rearm_ms: float = 10.0) -> list[int]:
    """Every step start in `audio`: each rise of the envelope through the trigger level (see `_levels`: rises
    more than range_db under the loudest are not steps) after the sound had fallen `rearm_db` under that level
    (on a smoother rearm_ms envelope: a 1 ms one dips at every zero crossing of a low resonance), walked back to
    where it left the floor (never before that fall)."""
    x = np.asarray(audio, dtype=np.float64)
    if x.size == 0:
        return []
    win = max(1, int(round(envelope_ms * 1e-3 * sample_rate)))
    env_db = envelope_db(x, sample_rate, envelope_ms)
    _, trigger_db, settle_db = _levels(env_db, threshold_db, range_db)
    above = env_db >= trigger_db
    low = envelope_db(x, sample_rate, rearm_ms) < trigger_db - rearm_db
    onsets: list[int] = []
    pos = 0
    while pos < x.size:
        hits = np.flatnonzero(above[pos:])
        if hits.size == 0:
            break
        first = pos + int(hits[0])
        onsets.append(_walk_back(env_db, first, settle_db, win, pos))
        risen = np.flatnonzero(~low[first:])  # the smoother envelope lags: wait until it has risen, too
        if risen.size == 0:
            break
        rearm = np.flatnonzero(low[first + int(risen[0]):])
        if rearm.size == 0:
            break
        pos = first + int(risen[0]) + int(rearm[0])
    return onsets


def shape_sample(audio: np.ndarray, onset: int, stop: int, sample_rate: int, pre_onset_ms: float,
                 fade_in_ms: float, fade_out_ms: float, target_rms_dbfs: float,
                 max_peak_dbfs: float) -> tuple[np.ndarray, int]:
    """audio[onset - pre_onset : stop] with its DC removed, faded in (never past the onset) and out, and normalised
    to target_rms_dbfs over its active part with the peak kept under max_peak_dbfs. Returns (sample, its onset)."""
    sr = sample_rate
    start = max(0, onset - int(round(pre_onset_ms * 1e-3 * sr)))
    clip = np.asarray(audio[start:stop], dtype=np.float64)
    onset_in_clip = onset - start
    clip = clip - float(np.mean(clip))
    fade_in = min(int(round(fade_in_ms * 1e-3 * sr)), onset_in_clip)
    if fade_in > 0:
        clip[:fade_in] *= np.sin(0.5 * np.pi * (np.arange(fade_in) + 0.5) / fade_in) ** 2
    fade_out = min(int(round(fade_out_ms * 1e-3 * sr)), clip.size - onset_in_clip)
    if fade_out > 0:
        clip[clip.size - fade_out :] *= np.cos(0.5 * np.pi * (np.arange(fade_out) + 0.5) / fade_out) ** 2
    gain_db = target_rms_dbfs - active_rms_dbfs(clip, sr)
    new_peak = float(np.max(np.abs(clip))) * 10 ** (gain_db / 20.0)
    if new_peak > 10 ** (max_peak_dbfs / 20.0):
        gain_db -= 20.0 * np.log10(new_peak / 10 ** (max_peak_dbfs / 20.0))
    return (clip * 10 ** (gain_db / 20.0)).astype(np.float32), int(onset_in_clip)
