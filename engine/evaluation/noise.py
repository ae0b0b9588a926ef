"""Pose-tracker noise: measured on real MediaPipe output, applied to clean pose streams from motion capture.

What real single-person MediaPipe tracks do wrong that matters to step detection, and how each is measured on a
pose stream (`measure`) and reproduced (`apply_noise`, deterministic for a seed):
- jitter: per landmark group, the std of the residual after a 5-frame quadratic Savitzky-Golay fit, robust (MAD),
  corrected for the filter's own gain on white noise, in units of the person's body height (nose to mid-ankle).
  Applied as white Gaussian noise of that std.
- dropouts: runs of frames with nobody found, not counting runs at the very start or end of the stream (a person
  entering or leaving the frame; virtual cameras keep the whole walk in frame); rate per second and mean length.
- foot visibility: mean and std of the ankle/heel/foot_index visibility; applied as a Beta distribution with the same
  moments.
- left/right leg swaps: runs of frames in which the legs' landmarks (knee, ankle, heel, foot_index) trade places;
  found where the swapped assignment fits a constant-velocity prediction from the two previous frames much better
  than the kept one while the feet are apart; rate of runs per second and mean run length.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.signal import savgol_filter

from footfall.engine import config
from footfall.engine.messages import NS_PER_S, NUM_LANDMARKS, PersonPose, PoseSample

GROUPS: dict[str, tuple[int, ...]] = {
    "face": tuple(range(0, 11)),
    "arms": tuple(range(11, 23)),
    "hips": (23, 24),
    "knees": (25, 26),
    "ankles": (27, 28),
    "feet": (29, 30, 31, 32),
}
LEFT_LEG, RIGHT_LEG = (25, 27, 29, 31), (26, 28, 30, 32)
FOOT_POINTS = (27, 28, 29, 30, 31, 32)
_SAVGOL_WINDOW, _SAVGOL_ORDER = 5, 2
_SAVGOL_CENTRE = 17 / 35  # the 5-point quadratic smoother's centre weight; white-noise residual var = 1 - that


@dataclass(frozen=True)
class NoiseParams:
    """Fitted tracker noise. Jitter figures are stds in units of body height; rates are per second of video."""

    jitter_face: float = 0.0
    jitter_arms: float = 0.0
    jitter_hips: float = 0.0
    jitter_knees: float = 0.0
    jitter_ankles: float = 0.0
    jitter_feet: float = 0.0
    dropout_rate_per_s: float = 0.0
    dropout_mean_frames: float = 1.0
    foot_visibility_mean: float = 1.0
    foot_visibility_std: float = 0.0
    swap_rate_per_s: float = 0.0
    swap_mean_frames: float = 1.0

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"{f.name} must be >= 0")
        if self.dropout_mean_frames < 1 or self.swap_mean_frames < 1:
            raise ValueError("mean run lengths are at least one frame")
        if not 0 < self.foot_visibility_mean <= 1:
            raise ValueError("foot_visibility_mean must be in (0, 1]")

    def jitter(self, group: str) -> float:
        return float(getattr(self, f"jitter_{group}"))


def load_noise(name_or_path: str) -> NoiseParams:
    """`none`, a shipped preset name (`realistic` -> config/noise_realistic.toml) or a TOML file; table [noise]."""
    if name_or_path == "none":
        return NoiseParams()
    path = Path(name_or_path)
    table = config.read_toml(path) if path.suffix == ".toml" else config.read_preset(f"noise_{name_or_path}")
    return config.section(table, "noise", NoiseParams, str(path) if path.suffix == ".toml" else name_or_path)


# ---------------------------------------------------------------------------------------------------- measuring


@dataclass(frozen=True, eq=False)
class Track:
    """One person's landmarks as arrays: xy in pixels (frames, 33, 2), visibility (frames, 33), present (frames,)."""

    xy: np.ndarray
    visibility: np.ndarray
    present: np.ndarray
    fps: float


def track_from_samples(samples: Sequence[PoseSample]) -> Track:
    """The first person of every frame (NaN where nobody was found)."""
    n = len(samples)
    xy = np.full((n, NUM_LANDMARKS, 2), np.nan)
    vis = np.zeros((n, NUM_LANDMARKS))
    for i, s in enumerate(samples):
        if s.persons:
            lm = s.persons[0].landmarks
            xy[i, :, 0] = lm[:, 0] * s.width
            xy[i, :, 1] = lm[:, 1] * s.height
            vis[i] = lm[:, 3]
    times = np.array([s.t_ns for s in samples], dtype=np.float64)
    fps = NS_PER_S / float(np.median(np.diff(times))) if n > 1 else 30.0
    return Track(xy, vis, ~np.isnan(xy[:, 0, 0]), fps)


def body_height_px(xy: np.ndarray) -> np.ndarray:
    """Per frame nose to mid-ankle distance (NaN where absent)."""
    return np.linalg.norm(xy[:, 0] - 0.5 * (xy[:, 27] + xy[:, 28]), axis=-1)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def measure_jitter(track: Track) -> dict[str, float]:
    """Per group jitter std / body height over runs of at least 9 present frames."""
    height = float(np.nanmedian(body_height_px(track.xy)))
    residuals: dict[str, list[np.ndarray]] = {g: [] for g in GROUPS}
    for a, b in _runs(track.present):
        if b - a < 9:
            continue
        seg = track.xy[a:b]
        res = seg - savgol_filter(seg, _SAVGOL_WINDOW, _SAVGOL_ORDER, axis=0)
        for g, idx in GROUPS.items():
            residuals[g].append(res[2:-2, list(idx)].ravel())
    out = {}
    for g, parts in residuals.items():
        r = np.concatenate(parts) if parts else np.zeros(1)
        robust_std = 1.4826 * float(np.median(np.abs(r - np.median(r))))
        out[g] = robust_std / np.sqrt(1 - _SAVGOL_CENTRE) / height
    return out


def measure_swaps(track: Track, ratio: float = 0.5, min_apart: float = 0.05) -> list[tuple[int, int]]:
    """Runs of frames whose legs are swapped relative to the track's own history (see the module docstring)."""
    height = float(np.nanmedian(body_height_px(track.xy)))
    left, right = list(LEFT_LEG), list(RIGHT_LEG)
    xy = track.xy.copy()
    toggles = []
    for t in range(2, xy.shape[0]):
        if not (track.present[t] and track.present[t - 1] and track.present[t - 2]):
            continue
        predicted = 2 * xy[t - 1] - xy[t - 2]
        keep = np.linalg.norm(xy[t, left] - predicted[left], axis=-1).sum() + \
            np.linalg.norm(xy[t, right] - predicted[right], axis=-1).sum()
        swap = np.linalg.norm(xy[t, left] - predicted[right], axis=-1).sum() + \
            np.linalg.norm(xy[t, right] - predicted[left], axis=-1).sum()
        apart = np.linalg.norm(xy[t, 27] - xy[t, 28]) > min_apart * height
        if apart and swap < ratio * keep:
            toggles.append(t)
            xy[t:, left + right] = xy[t:, right + left]  # follow the legs as their identity flips
    runs = []
    for k in range(0, len(toggles) - 1, 2):
        runs.append((toggles[k], toggles[k + 1]))
    if len(toggles) % 2:
        runs.append((toggles[-1], xy.shape[0]))
    return runs


def measure(samples: Sequence[PoseSample]) -> dict[str, float]:
    """All noise figures of one real pose stream (keys as NoiseParams fields, plus frame and second counts)."""
    track = track_from_samples(samples)
    seconds = len(samples) / track.fps
    jitter = measure_jitter(track)
    dropouts = [(a, b) for a, b in _runs(~track.present) if a > 0 and b < len(samples)]
    swaps = measure_swaps(track)
    feet = track.visibility[track.present][:, list(FOOT_POINTS)].ravel()
    out = {f"jitter_{g}": v for g, v in jitter.items()}
    out.update({
        "dropout_rate_per_s": len(dropouts) / seconds,
        "dropout_mean_frames": float(np.mean([b - a for a, b in dropouts])) if dropouts else 1.0,
        "foot_visibility_mean": float(feet.mean()) if feet.size else 1.0,
        "foot_visibility_std": float(feet.std()) if feet.size else 0.0,
        "swap_rate_per_s": len(swaps) / seconds,
        "swap_mean_frames": float(np.mean([b - a for a, b in swaps])) if swaps else 1.0,
        "dropout_runs": float(len(dropouts)),
        "dropout_frames": float(sum(b - a for a, b in dropouts)),
        "swap_runs": float(len(swaps)),
        "swap_frames": float(sum(b - a for a, b in swaps)),
        "frames": float(len(samples)),
        "seconds": seconds,
    })
    return out


def fit(measurements: Sequence[dict[str, float]]) -> NoiseParams:
    """Pool several streams' figures: levels weighted by duration, runs by pooling their counts and lengths."""
    weights = np.array([m["seconds"] for m in measurements])
    names = [f.name for f in fields(NoiseParams)]
    values = {n: float(np.average([m[n] for m in measurements], weights=weights)) for n in names}
    seconds = float(weights.sum())
    for kind in ("dropout", "swap"):
        runs = sum(m[f"{kind}_runs"] for m in measurements)
        frames = sum(m[f"{kind}_frames"] for m in measurements)
        values[f"{kind}_rate_per_s"] = runs / seconds
        values[f"{kind}_mean_frames"] = max(frames / runs, 1.0) if runs else 1.0
    return NoiseParams(**values)


def to_toml(params: NoiseParams, comment: str = "") -> str:
    lines = [f"# {line}" for line in comment.splitlines()] + ["[noise]"]
    lines += [f"{f.name} = {getattr(params, f.name):.6g}" for f in fields(params)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------- applying


def _episodes(rng: np.random.Generator, n: int, rate_per_frame: float, mean_frames: float) -> np.ndarray:
    """Boolean mask of runs starting at Poisson times with geometric lengths of the given mean."""
    mask = np.zeros(n, dtype=bool)
    if rate_per_frame <= 0:
        return mask
    starts = np.flatnonzero(rng.random(n) < rate_per_frame)
    lengths = rng.geometric(1.0 / mean_frames, size=starts.size)
    for s, length in zip(starts, lengths):
        mask[s:s + length] = True
    return mask


def _beta(rng: np.random.Generator, mean: float, std: float, size: int) -> np.ndarray:
    var = min(std * std, mean * (1 - mean) * 0.99)
    if var <= 0 or mean >= 1:
        return np.full(size, mean)
    k = mean * (1 - mean) / var - 1
    return rng.beta(mean * k, (1 - mean) * k, size=size)


def apply_noise(samples: Sequence[PoseSample], params: NoiseParams, seed: int = 0) -> list[PoseSample]:
    """A noisy copy of a clean pose stream; the same seed gives the same stream."""
    rng = np.random.default_rng(seed)
    n = len(samples)
    fps = NS_PER_S / float(np.median(np.diff([s.t_ns for s in samples]))) if n > 1 else 30.0
    dropped = _episodes(rng, n, params.dropout_rate_per_s / fps, params.dropout_mean_frames)
    swapped = _episodes(rng, n, params.swap_rate_per_s / fps, params.swap_mean_frames)
    sigma = np.zeros(NUM_LANDMARKS)
    for g, idx in GROUPS.items():
        sigma[list(idx)] = params.jitter(g)
    out = []
    for i, s in enumerate(samples):
        noise = rng.standard_normal((len(s.persons), NUM_LANDMARKS, 2))
        visibility = _beta(rng, params.foot_visibility_mean, params.foot_visibility_std,
                           len(s.persons) * len(FOOT_POINTS)).reshape(len(s.persons), -1)
        if dropped[i]:
            out.append(replace(s, persons=()))
            continue
        persons = []
        for k, person in enumerate(s.persons):
            lm = person.landmarks.astype(np.float64)
            px = np.stack([lm[:, 0] * s.width, lm[:, 1] * s.height], axis=-1)
            height = float(np.linalg.norm(px[0] - 0.5 * (px[27] + px[28])))
            px += noise[k] * (sigma * height)[:, None]
            if swapped[i]:
                px[list(LEFT_LEG + RIGHT_LEG)] = px[list(RIGHT_LEG + LEFT_LEG)]
                lm[list(LEFT_LEG + RIGHT_LEG), 2:] = lm[list(RIGHT_LEG + LEFT_LEG), 2:]
            lm[:, 0], lm[:, 1] = px[:, 0] / s.width, px[:, 1] / s.height
            lm[list(FOOT_POINTS), 3] = np.minimum(lm[list(FOOT_POINTS), 3], visibility[k])
            persons.append(PersonPose(person.track_id, lm.astype(np.float32), person.world))
        out.append(replace(s, persons=tuple(persons)))
    return out
