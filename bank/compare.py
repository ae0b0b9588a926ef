"""Measures footstep sounds and compares a bank's surfaces with real recordings of the same surfaces.

The figures are the ones a sound designer checks by ear and on an analyser: where the spectrum's weight sits
(centroid and an octave-band profile), how long the step rings (decay from the peak to -30 dB of a smoothed
envelope) and how loud it is (RMS over the active part, and peak).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from footfall.bank.sample_bank import Bank

OCTAVE_CENTRES_HZ = (63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000)
ENVELOPE_MS = 5.0
ACTIVE_DB = 30.0
DECAY_DB = 30.0
REFERENCE_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".opus")


def envelope_db(audio: np.ndarray, sample_rate: int, window_ms: float = ENVELOPE_MS) -> np.ndarray:
    """Moving-RMS envelope in dBFS, one value per sample."""
    x = np.asarray(audio, dtype=np.float64)
    win = max(1, int(round(window_ms * 1e-3 * sample_rate)))
    csum = np.concatenate([[0.0], np.cumsum(x * x)])
    lo = np.clip(np.arange(x.size) - win // 2, 0, x.size)
    hi = np.clip(lo + win, 0, x.size)
    power = np.maximum(csum[hi] - csum[lo], 0.0) / win
    return 10.0 * np.log10(power + 1e-20)


def active_mask(audio: np.ndarray, sample_rate: int, below_peak_db: float = ACTIVE_DB) -> np.ndarray:
    env = envelope_db(audio, sample_rate)
    return env >= env.max() - below_peak_db


def active_rms_dbfs(audio: np.ndarray, sample_rate: int) -> float:
    """RMS in dBFS over the samples whose envelope is within 30 dB of its peak: the step, not the silence around it."""
    x = np.asarray(audio, dtype=np.float64)
    if x.size == 0:
        return -200.0
    sel = x[active_mask(x, sample_rate)]
    return float(10.0 * np.log10(np.mean(sel * sel) + 1e-20))


def decay_ms(audio: np.ndarray, sample_rate: int, drop_db: float = DECAY_DB) -> float:
    """Time from the envelope's peak to the point after which it stays more than `drop_db` below the peak."""
    env = envelope_db(audio, sample_rate)
    peak = int(np.argmax(env))
    above = np.flatnonzero(env[peak:] >= env[peak] - drop_db)
    return float(above[-1]) * 1e3 / sample_rate


def band_profile_db(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Energy per octave band (centres OCTAVE_CENTRES_HZ) in dB relative to the total, over the active part."""
    x = np.asarray(audio, dtype=np.float64)
    x = x[active_mask(x, sample_rate)]
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / sample_rate)
    total = spec[freqs >= 20].sum() + 1e-30
    bands = []
    for c in OCTAVE_CENTRES_HZ:
        sel = (freqs >= c / np.sqrt(2)) & (freqs < c * np.sqrt(2))
        bands.append(10.0 * np.log10(spec[sel].sum() / total + 1e-12))
    return np.array(bands)


def centroid_hz(audio: np.ndarray, sample_rate: int) -> float:
    """Spectral centroid of the active part's power spectrum (20 Hz up)."""
    x = np.asarray(audio, dtype=np.float64)
    x = x[active_mask(x, sample_rate)]
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / sample_rate)
    sel = freqs >= 20
    return float((freqs[sel] * spec[sel]).sum() / (spec[sel].sum() + 1e-30))


def describe(audio: np.ndarray, sample_rate: int) -> dict:
    """The figures of one sound: centroid_hz, bands_db, decay_ms, rms_dbfs, peak_dbfs, active_ms."""
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    if x.size == 0 or not np.any(x):
        raise ValueError("describe: empty or silent audio")
    mask = active_mask(x, sample_rate)
    return {
        "centroid_hz": centroid_hz(x, sample_rate),
        "bands_db": [float(b) for b in band_profile_db(x, sample_rate)],
        "decay_ms": decay_ms(x, sample_rate),
        "rms_dbfs": active_rms_dbfs(x, sample_rate),
        "peak_dbfs": float(20.0 * np.log10(np.max(np.abs(x)))),
        "active_ms": float(mask.sum()) * 1e3 / sample_rate,
    }


def summarise(descriptions: list[dict]) -> dict:
    """Median figures of several sounds; the band profile is the mean energy per band, in dB."""
    keys = ("centroid_hz", "decay_ms", "rms_dbfs", "peak_dbfs", "active_ms")
    out = {k: float(np.median([d[k] for d in descriptions])) for k in keys}
    bands = np.mean([10 ** (np.array(d["bands_db"]) / 10.0) for d in descriptions], axis=0)
    out["bands_db"] = [float(b) for b in 10.0 * np.log10(bands + 1e-12)]
    out["count"] = len(descriptions)
    return out


def reference_surface(path: Path, tokens: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The bank surfaces a reference file stands for, from the last word of its name that names one."""
    words = [w for w in re.split(r"[^a-z]+", path.stem.lower()) if w]
    for word in reversed(words):
        hits = tuple(s for s, names in tokens.items() if word in names)
        if hits:
            return hits
    return ()


def compare_with_references(
    bank: Bank, reference_dir: Path, intensity: float | None = 1.0, tokens: dict[str, tuple[str, ...]] | None = None
) -> list[dict]:
    """Per surface that has references: the bank's figures beside the real recordings' figures.

    Reference files are matched to surfaces by the words in their names (the surface names and each surface's
    `reference_tokens` in config/surfaces.toml, e.g. minetest 'hard' -> concrete and tile). Only bank entries at the
    intensity nearest `intensity` are measured (None: all). Files that match no surface are listed in a row with
    surface '-' so nothing is silently skipped.
    """
    from footfall.bank.folder import read_audio
    from footfall.bank.vocabulary import load_vocabulary

    sr = bank.sample_rate
    if tokens is None:
        vocab = load_vocabulary()
        tokens = {s: (s, *r.reference_tokens) for s, r in vocab.surfaces.items()}
    tokens = {s: t for s, t in tokens.items() if s in bank.surfaces} | {
        s: (s,) for s in bank.surfaces if s not in tokens
    }
    files = sorted(p for p in Path(reference_dir).rglob("*") if p.is_file() and p.suffix.lower() in REFERENCE_SUFFIXES)
    real: dict[str, list[tuple[Path, dict]]] = {}
    unmatched = []
    for path in files:
        surfaces = reference_surface(path, tokens)
        if not surfaces:
            unmatched.append(path.name)
            continue
        figures = describe(read_audio(path, sr), sr)
        for s in surfaces:
            real.setdefault(s, []).append((path, figures))
    rows = []
    for surface in sorted(real):
        idx = [i for i, e in enumerate(bank.entries) if e.surface == surface]
        if intensity is not None and idx:
            levels = np.array([bank.entries[i].intensity for i in idx])
            nearest = levels[np.argmin(np.abs(levels - intensity))]
            idx = [i for i in idx if bank.entries[i].intensity == nearest]
        synth = summarise([describe(bank.clip(i), sr) for i in idx])
        ref = summarise([f for _, f in real[surface]])
        rows.append(
            {
                "surface": surface,
                "synth": synth,
                "real": ref,
                "references": [p.name for p, _ in real[surface]],
                "band_diff_db": float(np.mean(np.abs(np.array(synth["bands_db"]) - np.array(ref["bands_db"])))),
            }
        )
    if unmatched:
        rows.append({"surface": "-", "synth": None, "real": None, "references": unmatched, "band_diff_db": None})
    return rows


def format_table(rows: list[dict]) -> str:
    """A plain-text table: synth / real for centroid, decay, RMS and peak, and the octave-profile difference."""
    head = (
        f"{'surface':<9} {'n':>7}  {'centroid Hz':>13}  {'decay ms':>11}  {'RMS dBFS':>11}  {'peak dBFS':>11}"
        f"  {'bands':>5}"
    )
    lines = [head, f"{'':<9} {'syn/real':>7}  {'synth / real':>13}  {'synth/real':>11}  {'synth/real':>11}"
             f"  {'synth/real':>11}  {'dB':>5}"]
    skipped = []
    for r in rows:
        if r["synth"] is None:
            skipped = r["references"]
            continue
        s, q = r["synth"], r["real"]
        lines.append(
            f"{r['surface']:<9} {s['count']:>3}/{q['count']:<3}  {s['centroid_hz']:>6.0f}/{q['centroid_hz']:<6.0f}"
            f"  {s['decay_ms']:>5.0f}/{q['decay_ms']:<5.0f}  {s['rms_dbfs']:>5.1f}/{q['rms_dbfs']:<5.1f}"
            f"  {s['peak_dbfs']:>5.1f}/{q['peak_dbfs']:<5.1f}  {r['band_diff_db']:>5.1f}"
        )
    lines.append("bands: mean |difference| of the octave-band profiles (63 Hz-16 kHz, dB re total energy)")
    if skipped:
        lines.append("not matched to a surface: " + ", ".join(skipped))
    return "\n".join(lines)
