"""The procedural footstep synthesiser: the default bank, built from physical sketches of each ground and shoe.

A step is two contacts, heel then ball of the foot, 60-140 ms apart (less when running). Each contact is a short
noise burst whose band and attack follow the shoe's hardness; the ground answers with what it is made of: damped
modal resonances (wood, tile, metal, ice), a granular crunch of many tiny random impulses (gravel, snow, leaves,
sand), a low-passed thud (carpet, grass, dirt, mud) or a slap, spray and bubbles (water). A little scuff of
friction noise joins the two contacts. Intensity raises level, brightness and crunch density and shortens the
heel-to-toe time. Each (surface, footwear, variation) has its own seeded numpy Generator, so a bank is a pure
function of its parameters and the recipes in config/surfaces.toml.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from footfall.bank.compare import active_rms_dbfs, envelope_db
from footfall.bank.sample_bank import Bank, BankEntry
from footfall.bank.vocabulary import FootwearRecipe, SurfaceRecipe, Vocabulary, load_vocabulary

SYNTH_VERSION = 2  # bump whenever the sound changes: the cached default bank is keyed by it
PRE_ONSET_MS = 3.0
FADE_OUT_MS = 25.0
PEAK_CEILING_DBFS = -1.0
TRIM_BELOW_PEAK_DB = 60.0  # the tail is cut where the envelope stays this far under its peak, then faded
INTENSITY_DB_PER_DECADE = 23.0  # level follows intensity**1.15: 0.3 -> -12 dB, 0.6 -> -5 dB
RUN_STRIKE_MS = (6.0, 22.0)  # a run lands on the midfoot: heel and ball this far apart
RUN_STRIKE_GAIN = 1.25
RUN_BRIGHTNESS = 1.25
RUN_ATTACK = 0.6  # a run's contact attack is this much shorter
RUN_MODE_DAMPING = 0.5  # a run's ground modes ring this much shorter
RUN_SCUFF = 0.4  # a run's scuff level, re a walk's
MODE_TILT = 0.5
GRAIN_SHIFT_OCTAVES = 0.3  # a variation's crunch band moves by up to this much
BODY_JITTER_DB = 3.0  # a variation's low body (thud) level, +/- dB
SCUFF_DRAG_CHANCE = 0.25
SCUFF_DRAG_GAIN = 2.5


@dataclass(frozen=True)
class ProceduralParams:
    """What the default bank holds. Empty surfaces/footwears mean every one in config/surfaces.toml."""

    sample_rate: int = 48000
    surfaces: tuple[str, ...] = ()
    footwears: tuple[str, ...] = ()
    variations: int = 10
    intensities: tuple[float, ...] = (0.3, 0.6, 1.0)
    run_variations: int = 6  # runs: one sharper strike instead of the walk's heel-to-toe roll (0: no run samples)
    run_intensities: tuple[float, ...] = (0.6, 1.0)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.sample_rate < 16000:
            raise ValueError("sample_rate must be at least 16000")
        if self.variations < 1 or self.run_variations < 0:
            raise ValueError("variations must be at least 1 and run_variations at least 0")
        if not self.intensities or any(not 0.0 < i <= 1.0 for i in self.intensities + self.run_intensities):
            raise ValueError("intensities and run_intensities must be in (0, 1]")
        if self.run_variations and not self.run_intensities:
            raise ValueError("run samples need at least one run intensity")


def _rng(seed: int, surface: str, footwear: str, variation: int) -> np.random.Generator:
    key = [seed & 0xFFFFFFFF, zlib.crc32(surface.encode()), zlib.crc32(footwear.encode()), variation]
    return np.random.default_rng(key)


def _biquad(kind: str, fc: float, sr: int, q: float = 0.7071) -> np.ndarray:
    """One second-order section (RBJ cookbook): closed form, far cheaper than a filter design per sound."""
    w = 2 * np.pi * float(np.clip(fc, 10.0, 0.45 * sr)) / sr
    alpha, c = np.sin(w) / (2 * q), np.cos(w)
    if kind == "lowpass":
        b = [(1 - c) / 2, 1 - c, (1 - c) / 2]
    elif kind == "highpass":
        b = [(1 + c) / 2, -(1 + c), (1 + c) / 2]
    else:  # bandpass, 0 dB at the centre
        b = [alpha, 0.0, -alpha]
    a0 = 1 + alpha
    return np.array([[b[0] / a0, b[1] / a0, b[2] / a0, 1.0, -2 * c / a0, (1 - alpha) / a0]])


def _band_sos(low: float, high: float, sr: int) -> np.ndarray:
    """A 12 dB/octave high-pass at `low` cascaded with a 12 dB/octave low-pass at `high`."""
    high = max(high, low * 1.05)
    return np.vstack([_biquad("highpass", low, sr), _biquad("lowpass", high, sr)])


def _burst(n: int, sr: int, rng: np.random.Generator, attack_ms: float, decay_ms: float) -> np.ndarray:
    """White noise under a raised-cosine attack and an exponential decay, long enough to fall by 60 dB."""
    a = max(1, int(attack_ms * 1e-3 * sr))
    d = max(1, int(decay_ms * 1e-3 * sr))
    length = min(n, a + 6 * d)
    env = np.exp(-np.arange(-a, length - a) / d)
    env[:a] = 0.5 - 0.5 * np.cos(np.pi * np.arange(min(a, length)) / a)
    return rng.standard_normal(length) * env


def _filtered(sos: np.ndarray, x: np.ndarray, ring: int) -> np.ndarray:
    """sosfilt over x up to its last non-zero sample plus `ring` samples of filter tail; zeros after.

    The filters here are low-Q, so their tails are short; skipping the silent remainder saves most of the work.
    """
    from scipy import signal  # here, not at the top: a cached bank loads without scipy
    nz = np.flatnonzero(x[::-1] != 0.0)
    out = np.zeros_like(x)
    if nz.size:
        stop = min(x.size, x.size - int(nz[0]) + ring)
        out[:stop] = signal.sosfilt(sos, x[:stop])
    return out


def _add(dst: np.ndarray, src: np.ndarray, at: int, gain: float = 1.0) -> None:
    if at >= dst.size:
        return
    m = min(src.size, dst.size - at)
    dst[at : at + m] += gain * src[:m]


def _mode_set(s: SurfaceRecipe, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ground's modes for one variation: (frequencies, decay times in s, gains).

    A real floor has many modes, near-degenerate ones in clusters around each of its characteristic frequencies
    (boards of slightly different length, a plate's two directions, the fixings): each recipe mode becomes
    `mode_cluster` modes spread over +/- mode_cluster_cents, their gains sharing the recipe mode's energy. Decay
    falls with frequency as (f0 / f) ** mode_damping (material and radiation losses grow with frequency).
    """
    centres = np.array(s.modes_hz) * (1.0 + 0.04 * rng.standard_normal(len(s.modes_hz)))
    gains = rng.uniform(0.35, 1.0, len(s.modes_hz))
    q = rng.uniform(1.0 - s.mode_q_spread, 1.0 + s.mode_q_spread, len(s.modes_hz))
    k = max(1, s.mode_cluster)
    cents = np.zeros((len(centres), 1))
    if k > 1:
        cents = rng.uniform(-s.mode_cluster_cents, s.mode_cluster_cents, (len(centres), k))
    freqs = (centres[:, None] * 2.0 ** (cents / 1200.0)).ravel()
    share = rng.uniform(0.5, 1.0, (len(centres), k))
    share /= np.sqrt(np.sum(share**2, axis=1, keepdims=True))
    g = (gains[:, None] * share).ravel()
    decays = s.mode_decay_ms * 1e-3 * np.repeat(q, k) * (centres.min() / freqs) ** s.mode_damping
    return freqs, decays, g


def _modal_body(excite: np.ndarray, freqs: np.ndarray, decays_s: np.ndarray, gains: np.ndarray, burst_ms: float,
                sr: int) -> np.ndarray:
    """The modes rung by `excite` (noise bursts of about `burst_ms`): the excitation convolved with the modes'
    summed impulse response, each mode a damped sine of amplitude gain / sqrt(burst length), so a burst of unit
    noise leaves a mode ringing at about its gain: mode levels read relative to the contact's own level."""
    from scipy import signal
    keep = (freqs > 20.0) & (freqs < 0.45 * sr)
    freqs, decays_s, gains = freqs[keep], decays_s[keep], gains[keep]
    if not freqs.size:
        return np.zeros_like(excite)
    length = min(excite.size, int(7.0 * float(decays_s.max()) * sr) + 1)  # 60 dB down
    t = np.arange(length) / sr
    ir = np.zeros(length)
    for f, tau, g in zip(freqs, decays_s, gains):
        ir += g * np.exp(-t / tau) * np.sin(2 * np.pi * f * t)
    ir /= np.sqrt(max(1.0, burst_ms * 1e-3 * sr))
    return signal.fftconvolve(excite, ir)[: excite.size]


def _rough(x: np.ndarray, depth: float, bandwidth_hz: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """x under a random amplitude modulation of `depth` (1 + depth * m(t), m low-passed noise of unit spread):
    the rattle and changing contact of a foot on a struck surface, which smears each mode into a narrow band."""
    if depth <= 0.0:
        return x
    from scipy import signal
    m = signal.sosfilt(np.vstack([_biquad("lowpass", bandwidth_hz, sr)] * 2), rng.standard_normal(x.size))
    m /= max(float(np.std(m)), 1e-12)
    return x * (1.0 + depth * m)


def _grains(
    n: int, sr: int, rng: np.random.Generator, contacts: list[tuple[int, float]], s: SurfaceRecipe, intensity: float,
    shift: float = 1.0,
) -> np.ndarray:
    """Granular crunch: impulses after each contact with heavy-tailed amplitudes, rung in three bands (the band
    scaled by `shift`: each step lands on different stones, blades or crystals)."""
    spread = max(1.0, s.grain_spread_ms * 1e-3 * sr)
    times, amps = [], []
    for at, gain in contacts:
        count = rng.poisson(s.grain_rate * s.grain_spread_ms * 1e-3 * gain * np.sqrt(intensity))
        dt = rng.gamma(1.3, spread / 2.6, count)
        times.append((at + dt).astype(np.int64))
        amps.append(gain * rng.lognormal(0.0, 0.9, count) * np.exp(-dt / spread) * rng.choice([-1.0, 1.0], count))
    t, a = np.concatenate(times), np.concatenate(amps)
    keep = t < n
    t, a = t[keep], a[keep]
    out = np.zeros(n)
    lo, hi = s.grain_low_hz * (0.8 + 0.2 * intensity) * shift, s.grain_high_hz * (0.75 + 0.25 * intensity) * shift
    edges = np.geomspace(lo, hi, 4)
    band = rng.integers(0, 3, t.size)
    ring = int(0.01 * sr)
    for b in range(3):
        train = np.zeros(n)
        np.add.at(train, t[band == b], a[band == b])
        centre = np.sqrt(edges[b] * edges[b + 1])
        out += _filtered(_biquad("bandpass", centre, sr, s.grain_q), train, ring) * np.sqrt(centre / 1000.0)
    return out


def _bubbles(n: int, sr: int, rng: np.random.Generator, at: int, s: SurfaceRecipe, gain: float) -> np.ndarray:
    """Minnaert-like bubbles: short damped sines that glide upward, scattered through the splash."""
    out = np.zeros(n)
    count = rng.poisson(s.bubble_rate * s.splash_ms * 1e-3 * gain)
    for _ in range(count):
        start = at + int(rng.exponential(s.splash_ms * 0.35e-3 * sr))
        f0 = np.exp(rng.uniform(np.log(s.bubble_low_hz), np.log(s.bubble_high_hz)))
        tau = rng.uniform(0.004, 0.02)
        length = min(int(5 * tau * sr), n - start)
        if length <= 8:
            continue
        t = np.arange(length) / sr
        phase = 2 * np.pi * f0 * (t + 0.5 * rng.uniform(2.0, 8.0) * t * t)
        env = np.exp(-t / tau) * (1 - np.exp(-t * sr / 24.0))
        out[start : start + length] += rng.lognormal(-0.5, 0.6) * gain * env * np.sin(phase)
    return out


def synthesize_step(
    surface: str,
    footwear: str,
    intensity: float,
    variation: int,
    seed: int = 0,
    sample_rate: int = 48000,
    vocabulary: Vocabulary | None = None,
    gait: str = "walk",
) -> tuple[np.ndarray, int]:
    """One footstep: (mono float32 audio, onset sample of the heel contact). gait: "walk" rolls from heel to toe,
    "run" lands in one sharper strike."""
    vocab = vocabulary or load_vocabulary()
    if surface not in vocab.surfaces:
        raise ValueError(f"unknown surface {surface!r} (known: {', '.join(vocab.surfaces)})")
    if footwear not in vocab.footwears:
        raise ValueError(f"unknown footwear {footwear!r} (known: {', '.join(vocab.footwears)})")
    if not 0.0 < intensity <= 1.0:
        raise ValueError("intensity must be in (0, 1]")
    if gait not in ("walk", "run"):
        raise ValueError(f"gait must be walk or run, not {gait!r}")
    rng = _rng(seed, surface, footwear, variation)
    return _render(vocab.surfaces[surface], vocab.footwears[footwear], intensity, rng, sample_rate, gait)


def _render(s: SurfaceRecipe, f: FootwearRecipe, intensity: float, rng: np.random.Generator, sr: int,
            gait: str = "walk") -> tuple[np.ndarray, int]:
    # Structural draws first, in a fixed order, so every intensity layer of a variation is the same step.
    roll = float(np.clip(f.toe_delay_ms * (1.3 - 0.5 * intensity) * rng.uniform(0.85, 1.15), 45.0, 160.0))
    heel_gain = f.heel_level * rng.uniform(0.85, 1.15)
    toe_gain = f.toe_level * s.toe_level * rng.uniform(0.75, 1.2)
    freqs, decays, mode_gains = _mode_set(s, rng) if s.modes_hz else (np.zeros(0), np.zeros(0), np.zeros(0))
    tail_ms = s.tail_ms * rng.uniform(0.9, 1.1)
    scuff_gain = s.scuff_level * f.scuff * rng.uniform(0.4, 1.0)
    drag = rng.random() < SCUFF_DRAG_CHANCE  # now and then the foot drags as it lands: a longer, louder scuff
    strike = rng.uniform(RUN_STRIKE_MS[0], RUN_STRIKE_MS[1])
    grain_shift = 2.0 ** rng.uniform(-GRAIN_SHIFT_OCTAVES, GRAIN_SHIFT_OCTAVES)
    body_gain = 10.0 ** (rng.uniform(-BODY_JITTER_DB, BODY_JITTER_DB) / 20.0)  # how squarely the foot lands
    brightness = (0.35 + 0.65 * f.hardness) * (0.35 + 0.65 * intensity)
    if gait == "run":  # one sharper strike: heel and ball land almost together, harder and brighter
        toe_ms = strike
        heel_gain *= RUN_STRIKE_GAIN
        toe_gain *= 0.6
        brightness *= RUN_BRIGHTNESS
        tail_ms *= 0.8
        decays = decays * RUN_MODE_DAMPING  # the whole sole lands at once and damps the ground it strikes
        scuff_gain *= RUN_SCUFF  # and lifts off again without sliding much
    else:
        toe_ms = roll

    onset = int(round(PRE_ONSET_MS * 1e-3 * sr))
    toe_at = onset + int(round(toe_ms * 1e-3 * sr))
    n = toe_at + int(round(tail_ms * 1e-3 * sr))
    contacts = [(onset, heel_gain), (toe_at, toe_gain)]

    # Contact excitation: sharper and brighter for hard shoes; the ball of the foot lands a little softer.
    excite = np.zeros(n)
    attack = f.attack_ms * (1.4 - 0.4 * intensity) * (RUN_ATTACK if gait == "run" else 1.0)
    _add(excite, _burst(n, sr, rng, attack, s.impact_ms), onset, heel_gain)
    _add(excite, _burst(n, sr, rng, attack * 1.5, s.impact_ms * 1.2), toe_at, toe_gain)
    ring = int(0.01 * sr)
    impact = _filtered(_band_sos(s.impact_highpass_hz, s.impact_lowpass_hz * brightness, sr), excite, ring)
    force = 0.5 + 0.5 * intensity  # contact noise, crunch and scuff grow with force; the low body less so
    out = s.impact_level * force * impact

    if s.mode_level > 0 and freqs.size:
        # A gentler strike stays in contact longer and excites the higher modes less (Hertzian contact time grows as
        # the impact speed falls): mode gains fall by 6 * MODE_TILT dB per octave times (1 - intensity).
        tilt = (freqs / freqs.min()) ** (-MODE_TILT * (1.0 - intensity))
        body = _modal_body(impact, freqs, decays, mode_gains * tilt, s.impact_ms, sr)
        out += s.mode_level * _rough(body, s.ring_roughness, s.ring_roughness_hz, sr, rng)

    if s.thud_level > 0:
        soft = np.zeros(n)
        _add(soft, _burst(n, sr, rng, 2.0 + 3.0 * (1 - f.hardness), s.thud_ms), onset, heel_gain)
        _add(soft, _burst(n, sr, rng, 3.0 + 3.0 * (1 - f.hardness), s.thud_ms), toe_at, toe_gain)
        lp = np.vstack([_biquad("lowpass", s.thud_hz * (0.7 + 0.3 * intensity), sr)] * 2)
        if s.thud_highpass_hz > 0:
            lp = np.vstack([lp, _biquad("highpass", s.thud_highpass_hz, sr)])
        soft_body = 1.0 + 0.5 * (1.0 - intensity)  # a gentle step is more the sole's thump than the ground's knock
        out += s.thud_level * body_gain * soft_body * (0.6 + 0.8 * f.mass) * _filtered(lp, soft, ring)

    if s.grain_level > 0 and s.grain_rate > 0:
        out += s.grain_level * force * _grains(n, sr, rng, contacts, s, intensity, grain_shift)

    if s.splash_level > 0:
        spray = np.zeros(n)
        _add(spray, _burst(n, sr, rng, 6.0, s.splash_ms * 0.45), onset, heel_gain)
        _add(spray, _burst(n, sr, rng, 8.0, s.splash_ms * 0.35), toe_at, 0.6 * toe_gain)
        slap = np.zeros(n)
        _add(slap, _burst(n, sr, rng, 0.3, 3.0), onset, heel_gain)
        band = _band_sos(800.0, s.splash_high_hz * (0.6 + 0.4 * intensity), sr)
        wet = _filtered(band, spray, ring) + 1.5 * _filtered(_band_sos(300.0, 9000.0, sr), slap, ring)
        wet += _bubbles(n, sr, rng, onset, s, heel_gain * (0.5 + intensity))
        out += s.splash_level * wet

    if scuff_gain > 0:
        start = onset + int(0.01 * sr)
        length = max(16, toe_at - start + int((0.09 if drag else 0.04) * sr))
        scuff_gain *= SCUFF_DRAG_GAIN if drag else 1.0
        rub = rng.standard_normal(length) * np.hanning(length) ** 2
        scuff = np.zeros(n)
        _add(scuff, rub, start)
        # Friction noise grows louder and brighter with the speed the sole slides at.
        band = _band_sos(s.scuff_low_hz, s.scuff_high_hz * (0.6 + 0.4 * intensity), sr)
        out += scuff_gain * force * force * _filtered(band, scuff, ring)

    return _finish(out, onset, intensity, s.target_rms_dbfs, sr), onset


def _finish(x: np.ndarray, onset: int, intensity: float, target_rms_dbfs: float, sr: int) -> np.ndarray:
    """No DC, no clicks (silent lead-in, cosine fade-out), loudness normalised, peak kept under the ceiling."""
    from scipy import signal  # here, not at the top: a cached bank loads without scipy
    x = signal.sosfilt(_biquad("highpass", 25.0, sr), x)
    x[:onset] = 0.0
    env = envelope_db(x, sr)
    audible = np.flatnonzero(env >= env.max() - TRIM_BELOW_PEAK_DB)
    x = x[: max(int(audible[-1]) + int(0.005 * sr), onset + int(0.05 * sr))]
    x[onset:] -= np.mean(x[onset:])
    fade = min(int(FADE_OUT_MS * 1e-3 * sr), x.size - onset)
    x[x.size - fade :] *= np.cos(0.5 * np.pi * (np.arange(fade) + 0.5) / fade) ** 2
    gain_db = target_rms_dbfs + INTENSITY_DB_PER_DECADE * np.log10(intensity) - active_rms_dbfs(x, sr)
    x *= 10 ** (gain_db / 20.0)
    peak = float(np.max(np.abs(x)))
    ceiling = 10 ** (PEAK_CEILING_DBFS / 20.0)
    if peak > ceiling:
        x *= ceiling / peak
    return x.astype(np.float32)


def build_procedural_bank(params: ProceduralParams | None = None, vocabulary: Vocabulary | None = None) -> Bank:
    """Every surface x footwear x intensity x variation, rendered in memory."""
    params = params or ProceduralParams()
    vocab = vocabulary or load_vocabulary()
    surfaces = params.surfaces or tuple(vocab.surfaces)
    footwears = params.footwears or tuple(vocab.footwears)
    for name, known in ((surfaces, vocab.surfaces), (footwears, vocab.footwears)):
        unknown = [x for x in name if x not in known]
        if unknown:
            raise ValueError(f"unknown name(s) {', '.join(unknown)} (known: {', '.join(known)})")
    provenance = f"procedural:footfall-synth-v{SYNTH_VERSION}:seed={params.seed}"
    layers = [("walk", i, params.variations) for i in params.intensities]
    layers += [("run", i, params.run_variations) for i in params.run_intensities if params.run_variations]
    clips, entries = [], []
    for surface in surfaces:
        for footwear in footwears:
            for gait, intensity, variations in layers:
                for variation in range(variations):
                    rng = _rng(params.seed, surface, footwear, variation)
                    clip, onset = _render(vocab.surfaces[surface], vocab.footwears[footwear], intensity, rng,
                                          params.sample_rate, gait)
                    clips.append(clip)
                    kind = "-run" if gait == "run" else ""
                    entries.append(
                        BankEntry(
                            id=f"{surface}-{footwear}{kind}-i{int(round(intensity * 100)):03d}-v{variation:02d}",
                            surface=surface,
                            footwear=footwear,
                            intensity=float(intensity),
                            onset=onset,
                            provenance=provenance,
                            variation=variation,
                            gait=gait,
                        )
                    )
    return Bank.from_clips(params.sample_rate, clips, entries, name="procedural")
