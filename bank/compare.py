"""Measures footstep sounds and compares a bank's surfaces with real recordings of the same surfaces.

The figures are the ones a sound designer checks by ear and on an analyser: where the spectrum's weight sits
(centroid and an octave-band profile), how long the step rings (decay from the peak to -30 dB of a smoothed
envelope), how loud it is (RMS over the active part, and peak), how tonal it is (narrow spectral peaks standing
above the smoothed spectrum: a struck floor that rings like a sine shows here, where averages cannot tell it from a
recording) and how much the takes of one sound differ from each other (variant spread).
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
ONSET_BELOW_PEAK_DB = 20.0  # the onset: where the envelope first comes within this of its peak
ANALYSIS_MS = 250.0  # tonality and spread look at this long from the onset: the contact, not the tail
TONALITY_BAND_HZ = (80.0, 6000.0)
TONALITY_SMOOTH_HZ = 150.0  # width of the running median the peaks are measured against
TONALITY_PERCENTILE = 99.5
SPREAD_BAND_HZ = (100.0, 8000.0)  # third-octave bands of the spread profile


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


def onset_index(audio: np.ndarray, sample_rate: int) -> int:
    """The sample at which the sound starts: its envelope's first rise to within 20 dB of the peak, less half the
    envelope window (the window centres on each sample)."""
    env = envelope_db(audio, sample_rate)
    first = int(np.argmax(env >= env.max() - ONSET_BELOW_PEAK_DB))
    return max(0, first - int(round(ENVELOPE_MS * 0.5e-3 * sample_rate)))


def _attack_segment(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    start = onset_index(x, sample_rate)
    return x[start : start + int(round(ANALYSIS_MS * 1e-3 * sample_rate))]


def tonality_db(audio: np.ndarray, sample_rate: int) -> float:
    """How far the strongest narrow spectral peaks stand above the smoothed spectrum, in dB.

    The 99.5th percentile, over 80 Hz-6 kHz, of the dB spectrum of the first 250 ms after the onset (Hann window,
    zero-padded to 4 Hz bins or finer) minus its running median over 150 Hz. A noise-like sound lands near 9 dB (the
    scatter of a single periodogram's bins alone reaches 8.8 dB at that percentile); modes that ring for longer
    than the contact push it up: a mode ringing over the contact noise, or a lone sine, reaches about 22 dB.
    """
    from scipy.ndimage import median_filter  # here: the render path loads this module without scipy
    x = _attack_segment(audio, sample_rate)
    nfft = 1 << int(np.ceil(np.log2(max(x.size, sample_rate / 4.0))))
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size), nfft))
    level = 20.0 * np.log10(spec + 1e-12 * max(float(spec.max()), 1e-30))
    hz_per_bin = sample_rate / nfft
    width = int(round(TONALITY_SMOOTH_HZ / hz_per_bin)) | 1
    residual = level - median_filter(level, size=width, mode="nearest")
    freqs = np.arange(level.size) * hz_per_bin
    sel = (freqs >= TONALITY_BAND_HZ[0]) & (freqs <= TONALITY_BAND_HZ[1])
    return float(np.percentile(residual[sel], TONALITY_PERCENTILE))


def third_octave_profile_db(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Energy per third-octave band (100 Hz-8 kHz) of the first 250 ms after the onset, dB re the bands' total."""
    x = _attack_segment(audio, sample_rate)
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / sample_rate)
    bands = int(round(3 * np.log2(SPREAD_BAND_HZ[1] / SPREAD_BAND_HZ[0]))) + 1
    centres = SPREAD_BAND_HZ[0] * 2.0 ** (np.arange(bands) / 3)
    edges = np.concatenate([centres / 2 ** (1 / 6), centres[-1:] * 2 ** (1 / 6)])
    energy = np.array([spec[(freqs >= lo) & (freqs < hi)].sum() for lo, hi in zip(edges[:-1], edges[1:])])
    return 10.0 * np.log10(energy / (energy.sum() + 1e-30) + 1e-12)


def variant_spread_db(profiles: list[np.ndarray]) -> float | None:
    """How much the takes of one sound differ: the median, over pairs of takes, of the mean absolute difference of
    their third-octave profiles (dB). None for fewer than two takes. Copies that differ only in their noise give
    about 2 dB."""
    if len(profiles) < 2:
        return None
    p = np.array(profiles)
    i, j = np.triu_indices(len(p), 1)
    return float(np.median(np.mean(np.abs(p[i] - p[j]), axis=1)))


def describe(audio: np.ndarray, sample_rate: int) -> dict:
    """The figures of one sound: centroid_hz, bands_db, decay_ms, rms_dbfs, peak_dbfs, active_ms, tonality_db,
    profile_db (third-octave profile of the attack, for variant_spread_db)."""
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
        "tonality_db": tonality_db(x, sample_rate),
        "profile_db": [float(b) for b in third_octave_profile_db(x, sample_rate)],
    }


def summarise(descriptions: list[dict]) -> dict:
    """Median figures of several sounds; the band profile is the mean energy per band, in dB; tonality also as its
    range (tonality_min_db, tonality_max_db)."""
    keys = ("centroid_hz", "decay_ms", "rms_dbfs", "peak_dbfs", "active_ms", "tonality_db")
    out = {k: float(np.median([d[k] for d in descriptions])) for k in keys}
    tonality = [d["tonality_db"] for d in descriptions]
    out["tonality_min_db"], out["tonality_max_db"] = float(min(tonality)), float(max(tonality))
    bands = np.mean([10 ** (np.array(d["bands_db"]) / 10.0) for d in descriptions], axis=0)
    out["bands_db"] = [float(b) for b in 10.0 * np.log10(bands + 1e-12)]
    out["count"] = len(descriptions)
    return out


def take_set(path: Path) -> str:
    """The recording set a reference file belongs to: its name without a trailing take number
    ('minetest_default_gravel_footstep.3' -> 'minetest_default_gravel_footstep')."""
    return re.sub(r"[._ -]*\d+$", "", path.stem)


def _spread(groups: list[list[dict]]) -> float | None:
    """The median variant spread over groups of takes of one sound (groups of one take do not count)."""
    spreads = [variant_spread_db([np.array(d["profile_db"]) for d in g]) for g in groups]
    spreads = [x for x in spreads if x is not None]
    return float(np.median(spreads)) if spreads else None


def reference_surface(path: Path, tokens: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The bank surfaces a reference file stands for, from the last word of its name that names one."""
    words = [w for w in re.split(r"[^a-z]+", path.stem.lower()) if w]
    for word in reversed(words):
        hits = tuple(s for s, names in tokens.items() if word in names)
        if hits:
            return hits
    return ()


def reference_files(bank: Bank, reference_dir: Path, tokens: dict[str, tuple[str, ...]] | None = None
                    ) -> tuple[dict[str, list[tuple[Path, np.ndarray]]], list[str]]:
    """The recordings under reference_dir per bank surface, as (path, mono audio at the bank's rate), and the names
    of files that match no surface. Files are matched by the words in their names (the surface names and each
    surface's `reference_tokens` in config/surfaces.toml, e.g. minetest 'hard' -> concrete and tile)."""
    from footfall.bank.folder import read_audio
    from footfall.bank.vocabulary import load_vocabulary

    if tokens is None:
        vocab = load_vocabulary()
        tokens = {s: (s, *r.reference_tokens) for s, r in vocab.surfaces.items()}
    tokens = {s: t for s, t in tokens.items() if s in bank.surfaces} | {
        s: (s,) for s in bank.surfaces if s not in tokens
    }
    files = sorted(p for p in Path(reference_dir).rglob("*") if p.is_file() and p.suffix.lower() in REFERENCE_SUFFIXES)
    real: dict[str, list[tuple[Path, np.ndarray]]] = {}
    unmatched = []
    for path in files:
        surfaces = reference_surface(path, tokens)
        if not surfaces:
            unmatched.append(path.name)
            continue
        audio = read_audio(path, bank.sample_rate)
        for s in surfaces:
            real.setdefault(s, []).append((path, audio))
    return real, unmatched


def measured_entries(bank: Bank, surface: str, intensity: float | None, gait: str | None) -> list[int]:
    """Indices of a surface's entries at the intensity layer nearest `intensity` (None: all) made for `gait` or for
    any gait (None: every gait), in bank order."""
    idx = [i for i, e in enumerate(bank.entries) if e.surface == surface and (gait is None or e.gait in (gait, "any"))]
    if intensity is not None and idx:
        levels = np.array([bank.entries[i].intensity for i in idx])
        nearest = levels[np.argmin(np.abs(levels - intensity))]
        idx = [i for i in idx if bank.entries[i].intensity == nearest]
    return idx


def played_steps(bank: Bank, surface: str, footwear: str, count: int = 10, intensity: float = 1.0,
                 gait: str = "walk", depth: float = 1.0, seed: int = 0) -> list[np.ndarray]:
    """`count` consecutive steps of one person as the mixer plays them (default mixer parameters, mono, one step a
    second): the bank's variants plus the mixer's per-step level, pitch and filter variation."""
    from footfall.engine.mixer.mixer import Mixer, MixerParams

    sr = bank.sample_rate
    mixer = Mixer(MixerParams(sample_rate=sr, channels=1, seed=seed), bank)
    lead = int(bank.onsets.max())
    for k in range(count):
        mixer.trigger(lead + k * sr, surface, footwear, 0.5, depth, intensity, track_id=0, gait=gait)
    out = mixer.render(lead + count * sr)[:, 0]
    return [out[k * sr : (k + 1) * sr] for k in range(count)]


def depth_centroids(bank: Bank, surface: str, footwear: str, depths=(1.0, 2.0, 4.0)) -> dict[float, float]:
    """Median spectral centroid (Hz) of 10 consecutive steps of one person played at each depth: how much duller
    the mixer's air absorption makes a walker as they go farther."""
    sr = bank.sample_rate
    return {d: float(np.median([centroid_hz(x, sr) for x in played_steps(bank, surface, footwear, depth=d)]))
            for d in depths}


def compare_with_references(
    bank: Bank, reference_dir: Path, intensity: float | None = 1.0, tokens: dict[str, tuple[str, ...]] | None = None,
    gait: str | None = "walk",
) -> list[dict]:
    """Per bank surface: the bank's figures beside the real recordings' figures (see `reference_files`).

    Only entries chosen by `measured_entries(bank, surface, intensity, gait)` are measured. Every bank surface has
    a row (`real` None where no recording matched it); files that match no surface are listed in a row with surface
    '-' so nothing is silently skipped.
    """
    sr = bank.sample_rate
    files, unmatched = reference_files(bank, reference_dir, tokens)
    described: dict[Path, dict] = {}
    real = {s: [(p, described.setdefault(p, describe(a, sr))) for p, a in takes] for s, takes in files.items()}
    rows = []
    for surface in bank.surfaces:
        idx = measured_entries(bank, surface, intensity, gait)
        figures = {i: describe(bank.clip(i), sr) for i in idx}
        groups: dict[tuple, list[dict]] = {}
        for i in idx:
            e = bank.entries[i]
            groups.setdefault((e.footwear, e.intensity, e.gait), []).append(figures[i])
        played = [[describe(x, sr) for x in played_steps(bank, surface, f, intensity=intensity or 1.0,
                                                          gait=gait or "walk")]
                  for f in bank.footwears if any(bank.entries[i].footwear == f for i in idx)]
        synth = summarise(list(figures.values())) | {"spread_db": _spread(list(groups.values())),
                                                    "played_spread_db": _spread(played)}
        row = {"surface": surface, "synth": synth, "real": None, "references": [], "band_diff_db": None}
        if surface in real:
            takes: dict[str, list[dict]] = {}
            for path, f in real[surface]:
                takes.setdefault(take_set(path), []).append(f)
            ref = summarise([f for _, f in real[surface]]) | {"spread_db": _spread(list(takes.values()))}
            row |= {
                "real": ref,
                "references": [p.name for p, _ in real[surface]],
                "band_diff_db": float(np.mean(np.abs(np.array(synth["bands_db"]) - np.array(ref["bands_db"])))),
            }
        rows.append(row)
    if unmatched:
        rows.append({"surface": "-", "synth": None, "real": None, "references": unmatched, "band_diff_db": None})
    return rows


def real_ranges(rows: list[dict]) -> dict:
    """The range, over the surfaces with recordings, of the real recordings' median tonality and variant spread:
    where a synthetic surface's figure should lie (single recordings range wider: one glass clink is a sine)."""
    real = [r["real"] for r in rows if r.get("real")]
    out = {}
    for key in ("tonality_db", "spread_db"):
        values = [q[key] for q in real if q.get(key) is not None]
        if values:
            out[key] = (min(values), max(values))
    return out


def format_table(rows: list[dict]) -> str:
    """A plain-text table: synth / real for centroid, decay, RMS, peak, tonality and variant spread, and the
    octave-profile difference; then the real recordings' ranges."""
    head = (f"{'surface':<9} {'n':>7}  {'centroid Hz':>13}  {'decay ms':>11}  {'RMS dBFS':>11}  {'peak dBFS':>11}"
            f"  {'tonal dB':>11}  {'spread dB':>11}  {'played dB':>11}  {'bands':>5}")
    sub = "synth/real"
    lines = [head, f"{'':<9} {'syn/real':>7}  {'synth / real':>13}  {sub:>11}  {sub:>11}  {sub:>11}  {sub:>11}"
                   f"  {sub:>11}  {sub:>11}  {'dB':>5}"]
    skipped = []
    num = lambda v, w, d: f"{v:>{w}.{d}f}" if v is not None else f"{'-':>{w}}"
    for r in rows:
        if r["synth"] is None:
            skipped = r["references"]
            continue
        s, q = r["synth"], r["real"] or {}
        pair = lambda k, w, d, real_key=None: f"{num(s.get(k), w, d)}/{num(q.get(real_key or k), w, d).strip():<{w}}"
        count = f"{s['count']:>3}/{q.get('count', '-')!s:<3}"
        lines.append(
            f"{r['surface']:<9} {count}  {pair('centroid_hz', 6, 0)}  {pair('decay_ms', 5, 0)}"
            f"  {pair('rms_dbfs', 5, 1)}  {pair('peak_dbfs', 5, 1)}  {pair('tonality_db', 5, 1)}"
            f"  {pair('spread_db', 5, 1)}  {pair('played_spread_db', 5, 1, 'spread_db')}"
            f"  {num(r['band_diff_db'], 5, 1)}"
        )
    lines.append("bands: mean |difference| of the octave-band profiles (63 Hz-16 kHz, dB re total energy)")
    lines.append("tonal: 99.5th percentile of the attack's dB spectrum above its 150 Hz running median (80 Hz-6 kHz), "
                 "median per surface")
    lines.append("spread: median difference of third-octave attack profiles between takes of one sound (bank: "
                 "variants of one footwear and intensity; real: takes of one set); played: the same over 10 "
                 "consecutive steps of one person through the mixer (its level, pitch and filter variation added)")
    ranges = real_ranges(rows)
    if ranges:
        parts = [f"{k.removesuffix('_db')} {lo:.1f}-{hi:.1f} dB" for k, (lo, hi) in ranges.items()]
        lines.append("real recordings, range of the surfaces' medians: " + ", ".join(parts))
    if skipped:
        lines.append("not matched to a surface: " + ", ".join(skipped))
    return "\n".join(lines)
