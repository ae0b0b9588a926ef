"""Pose-tracker noise: measured on real MediaPipe output, applied to clean pose streams from motion capture.

What real single-person MediaPipe tracks do wrong that matters to step detection, and how each is measured on a
pose stream (`measure`) and reproduced (`apply_noise`, deterministic for a seed):
- jitter: per landmark group, the std of the residual after a 5-frame quadratic Savitzky-Golay fit, robust (MAD),
  corrected for the filter's own gain on white noise, in units of the person's body height (nose to mid-ankle).
  Measured separately for the landmarks' x/y (pixels / pixel body height), their z (MediaPipe's relative depth,
  in x's scale: z * width pixels / pixel body height), world x/y and world z (metres / world body height): depth
  is the weak axis. Applied as white Gaussian noise of that std; on the hips, whose midpoint is the origin of both z
  and world, as equal and opposite noise on the two hips so the origin stays where MediaPipe puts it.
- depth scale: MediaPipe's landmark z is several times the metric relative depth (on the dev clips about 3.6 times
  world z, in body heights of each); measured as the least-squares slope of z / pixel body height on world z /
  world body height, applied as a factor on the clean z.
- slow depth error is reported, not modelled: `slow_depth_feet` is the std of the 1 s moving median of the feet's
  world z (about the hips) in world body heights. It includes the true motion and camera tilt, so it only means
  something against the same figure on clean projected mocap of the same view (see config/noise_realistic.toml).
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
from scipy.ndimage import median_filter
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
HIP_PAIR = (23, 24)
# what each jitter family perturbs: x/y of the landmarks, their relative depth z, world x/y, world z
JITTER_KINDS = ("", "z_", "world_", "world_z_")


@dataclass(frozen=True)
class NoiseParams:
    """Fitted tracker noise. Jitter figures are stds in units of body height (`jitter_<group>` landmark x/y,
    `jitter_z_<group>` landmark z, `jitter_world_<group>` world x/y, `jitter_world_z_<group>` world z); rates are per
    second of video; landmark_z_scale multiplies the clean landmark z."""

    jitter_face: float = 0.0
    jitter_arms: float = 0.0
    jitter_hips: float = 0.0
    jitter_knees: float = 0.0
    jitter_ankles: float = 0.0
    jitter_feet: float = 0.0
    jitter_z_face: float = 0.0
    jitter_z_arms: float = 0.0
    jitter_z_hips: float = 0.0
    jitter_z_knees: float = 0.0
    jitter_z_ankles: float = 0.0
    jitter_z_feet: float = 0.0
    jitter_world_face: float = 0.0
    jitter_world_arms: float = 0.0
    jitter_world_hips: float = 0.0
    jitter_world_knees: float = 0.0
    jitter_world_ankles: float = 0.0
    jitter_world_feet: float = 0.0
    jitter_world_z_face: float = 0.0
    jitter_world_z_arms: float = 0.0
    jitter_world_z_hips: float = 0.0
    jitter_world_z_knees: float = 0.0
    jitter_world_z_ankles: float = 0.0
    jitter_world_z_feet: float = 0.0
    landmark_z_scale: float = 1.0
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

    def jitter(self, group: str, kind: str = "") -> float:
        """The std for a group; kind is one of JITTER_KINDS ("" = landmark x/y)."""
        return float(getattr(self, f"jitter_{kind}{group}"))

    def sigmas(self, kind: str = "") -> np.ndarray:
        """Per landmark std (33,) of one jitter kind."""
        sigma = np.zeros(NUM_LANDMARKS)
        for g, idx in GROUPS.items():
            sigma[list(idx)] = self.jitter(g, kind)
        return sigma


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
    """One person's landmarks as arrays: xy in pixels (frames, 33, 2), z in pixels (z * width, (frames, 33)),
    visibility (frames, 33), present (frames,), world in metres (frames, 33, 3; NaN where the pose had none)."""

    xy: np.ndarray
    visibility: np.ndarray
    present: np.ndarray
    fps: float
    z: np.ndarray | None = None
    world: np.ndarray | None = None


def track_from_samples(samples: Sequence[PoseSample]) -> Track:
    """The first person of every frame (NaN where nobody was found)."""
    n = len(samples)
    xy = np.full((n, NUM_LANDMARKS, 2), np.nan)
    z = np.full((n, NUM_LANDMARKS), np.nan)
    world = np.full((n, NUM_LANDMARKS, 3), np.nan)
    vis = np.zeros((n, NUM_LANDMARKS))
    for i, s in enumerate(samples):
        if s.persons:
            person = s.persons[0]
            lm = person.landmarks
            xy[i, :, 0] = lm[:, 0] * s.width
            xy[i, :, 1] = lm[:, 1] * s.height
            z[i] = lm[:, 2] * s.width
            vis[i] = lm[:, 3]
            if person.world is not None:
                world[i] = person.world
    times = np.array([s.t_ns for s in samples], dtype=np.float64)
    fps = NS_PER_S / float(np.median(np.diff(times))) if n > 1 else 30.0
    return Track(xy, vis, ~np.isnan(xy[:, 0, 0]), fps, z, world)


def body_height_px(xy: np.ndarray) -> np.ndarray:
    """Per frame nose to mid-ankle distance (NaN where absent)."""
    return np.linalg.norm(xy[:, 0] - 0.5 * (xy[:, 27] + xy[:, 28]), axis=-1)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) runs of True."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def _group_jitter(values: np.ndarray, present: np.ndarray, height: float) -> dict[str, float]:
    """Per group robust white-noise std of values (frames, 33, axes) / height, over runs of >= 9 present frames."""
    residuals: dict[str, list[np.ndarray]] = {g: [] for g in GROUPS}
    for a, b in _runs(present):
        if b - a < 9:
            continue
        seg = values[a:b]
        res = seg - savgol_filter(seg, _SAVGOL_WINDOW, _SAVGOL_ORDER, axis=0)
        for g, idx in GROUPS.items():
            residuals[g].append(res[2:-2, list(idx)].ravel())
    out = {}
    for g, parts in residuals.items():
        r = np.concatenate(parts) if parts else np.zeros(1)
        robust_std = 1.4826 * float(np.median(np.abs(r - np.median(r))))
        out[g] = robust_std / np.sqrt(1 - _SAVGOL_CENTRE) / height if height > 0 else 0.0
    return out


def _world_present(track: Track) -> np.ndarray:
    if track.world is None:
        return np.zeros(track.present.shape, dtype=bool)
    return track.present & ~np.isnan(track.world[:, 0, 0])


def measure_jitter(track: Track) -> dict[str, float]:
    """Per kind and group jitter std / body height, keyed like NoiseParams' jitter fields without `jitter_`
    (`feet`, `z_feet`, `world_feet`, `world_z_feet`); z and world figures are 0 where the track has none."""
    height = float(np.nanmedian(body_height_px(track.xy))) if track.present.any() else 0.0
    out = dict(_group_jitter(track.xy, track.present, height))
    if track.z is not None:
        out |= {f"z_{g}": v for g, v in _group_jitter(track.z[..., None], track.present, height).items()}
    with_world = _world_present(track)
    if with_world.any():
        world_height = float(np.nanmedian(body_height_px(track.world[with_world])))
        out |= {f"world_{g}": v for g, v in _group_jitter(track.world[..., :2], with_world, world_height).items()}
        out |= {f"world_z_{g}": v for g, v in _group_jitter(track.world[..., 2:], with_world, world_height).items()}
    return {k: out.get(k, 0.0) for k in (f"{kind}{g}" for kind in JITTER_KINDS for g in GROUPS)}


def measure_z_scale(track: Track) -> float:
    """Least-squares slope of landmark z / pixel body height on world z / world body height (1.0 without world)."""
    with_world = _world_present(track)
    if track.z is None or not with_world.any():
        return 1.0
    z = track.z[with_world] / body_height_px(track.xy[with_world])[:, None]
    world = track.world[with_world]
    w = world[..., 2] / float(np.median(body_height_px(world)))
    ok = np.isfinite(z) & np.isfinite(w)
    denominator = float(np.sum(w[ok] ** 2))
    return float(np.sum(z[ok] * w[ok]) / denominator) if denominator > 0 else 1.0


def measure_slow_depth(track: Track, window_s: float = 1.0) -> float:
    """Std over time of the feet's world z (about the hips) after a moving median of window_s, in world body
    heights: slow depth error plus the true motion's own slow part (compare with clean mocap of the same view)."""
    with_world = _world_present(track)
    window = max(int(round(window_s * track.fps)) | 1, 3)
    half = window // 2
    parts = []
    for a, b in _runs(with_world):
        if b - a < window + 2 * half:
            continue
        feet = track.world[a:b][:, list(FOOT_POINTS), 2]
        slow = median_filter(feet, size=(window, 1), mode="nearest")[half:-half]
        parts.append(slow - slow.mean(axis=0))
    if not parts:
        return 0.0
    world_height = float(np.median(body_height_px(track.world[with_world])))
    return float(np.std(np.concatenate(parts))) / world_height


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
    out = {f"jitter_{k}": v for k, v in jitter.items()}
    out.update({
        "landmark_z_scale": measure_z_scale(track),
        "slow_depth_feet": measure_slow_depth(track),
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
        "world_seconds": float(_world_present(track).sum()) / track.fps,
    })
    return out


def _uses_world(name: str) -> bool:
    return name.startswith("jitter_world_") or name == "landmark_z_scale"


def fit(measurements: Sequence[dict[str, float]]) -> NoiseParams:
    """Pool several streams' figures: levels weighted by duration (world figures by the duration that had world
    landmarks), runs by pooling their counts and lengths."""
    weights = np.array([m["seconds"] for m in measurements])
    world_weights = np.array([m.get("world_seconds", m["seconds"]) for m in measurements])
    defaults = NoiseParams()
    values = {}
    for f in fields(NoiseParams):
        w = world_weights if _uses_world(f.name) else weights
        values[f.name] = float(np.average([m[f.name] for m in measurements], weights=w)) if w.sum() > 0 \
            else getattr(defaults, f.name)
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


def _depth_noise(rng: np.random.Generator, persons: int) -> np.ndarray:
    """Standard normal draws (persons, 33, 4): landmark z, then world x, y, z; the right hip mirrors the left so the
    hips' midpoint, the origin of z and world, does not move."""
    draws = rng.standard_normal((persons, NUM_LANDMARKS, 4))
    draws[:, HIP_PAIR[1]] = -draws[:, HIP_PAIR[0]]
    return draws


def apply_noise(samples: Sequence[PoseSample], params: NoiseParams, seed: int = 0) -> list[PoseSample]:
    """A noisy copy of a clean pose stream; the same seed gives the same stream.

    x/y, dropouts, swaps and visibility draw from `default_rng(seed)` in the same order as before depth noise
    existed, so their figures stay comparable; depth (landmark z, world) draws from a generator spawned from the
    same seed.
    """
    rng = np.random.default_rng(seed)
    depth_rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])
    n = len(samples)
    fps = NS_PER_S / float(np.median(np.diff([s.t_ns for s in samples]))) if n > 1 else 30.0
    dropped = _episodes(rng, n, params.dropout_rate_per_s / fps, params.dropout_mean_frames)
    swapped = _episodes(rng, n, params.swap_rate_per_s / fps, params.swap_mean_frames)
    sigma = params.sigmas()
    sigma_z = params.sigmas("z_")
    sigma_world = np.stack([params.sigmas("world_")] * 2 + [params.sigmas("world_z_")], axis=-1)
    legs, crossed = list(LEFT_LEG + RIGHT_LEG), list(RIGHT_LEG + LEFT_LEG)
    out = []
    for i, s in enumerate(samples):
        noise = rng.standard_normal((len(s.persons), NUM_LANDMARKS, 2))
        visibility = _beta(rng, params.foot_visibility_mean, params.foot_visibility_std,
                           len(s.persons) * len(FOOT_POINTS)).reshape(len(s.persons), -1)
        depth_noise = _depth_noise(depth_rng, len(s.persons))
        if dropped[i]:
            out.append(replace(s, persons=()))
            continue
        persons = []
        for k, person in enumerate(s.persons):
            lm = person.landmarks.astype(np.float64)
            px = np.stack([lm[:, 0] * s.width, lm[:, 1] * s.height], axis=-1)
            height = float(np.linalg.norm(px[0] - 0.5 * (px[27] + px[28])))
            px += noise[k] * (sigma * height)[:, None]
            z_px = params.landmark_z_scale * lm[:, 2] * s.width + depth_noise[k, :, 0] * sigma_z * height
            world = None
            if person.world is not None:
                world = person.world.astype(np.float64)
                world_height = float(np.linalg.norm(world[0] - 0.5 * (world[27] + world[28])))
                world += depth_noise[k, :, 1:] * sigma_world * world_height
            if swapped[i]:
                px[legs] = px[crossed]
                z_px[legs] = z_px[crossed]
                lm[legs, 3] = lm[crossed, 3]
                if world is not None:
                    world[legs] = world[crossed]
            lm[:, 0], lm[:, 1], lm[:, 2] = px[:, 0] / s.width, px[:, 1] / s.height, z_px / s.width
            lm[list(FOOT_POINTS), 3] = np.minimum(lm[list(FOOT_POINTS), 3], visibility[k])
            persons.append(PersonPose(person.track_id, lm.astype(np.float32),
                                      None if world is None else world.astype(np.float32)))
        out.append(replace(s, persons=tuple(persons)))
    return out
