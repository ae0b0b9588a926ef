"""Where exactly a foot lands: the instant it stops moving relative to the ground.

The leading heel's most forward point finds each step, but the landing follows it by anything from -25 ms (a slow,
shuffling walk) to +85 ms (a sprint), so a fixed offset cannot be frame-accurate. The foot itself says when it
lands: once down, it moves with the ground. Relative to the hips that is a constant velocity (minus the walking
speed on a floor, the belt's speed on a treadmill, the camera's pan), which is measured on the landed foot itself a
little after landing. The contact is where the heel's or toe's velocity first comes within `speed` of it.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=16)
def _taps(window: int, deriv: int, lag: int) -> np.ndarray:
    """Savitzky-Golay taps (quadratic fit over `window` samples) for the value (deriv 0) or slope (deriv 1) at the
    sample `lag` samples before the window's last; plain least squares, so the render path does not pay for importing
    scipy.signal."""
    x = np.arange(window) - (window - 1 - lag)
    return np.linalg.pinv(np.vander(x, 3, increasing=True))[deriv]


def _lagged(x: np.ndarray, window: int, deriv: int, lag: int | None, fill: np.ndarray) -> np.ndarray:
    """`fill` with each sample the window fits around replaced by its fitted value or slope (per sample), the fit
    over the `window` samples that end `lag` samples after it (default window // 2: centred)."""
    lag = window // 2 if lag is None else lag
    if not 0 <= lag < window:
        raise ValueError("lag must be within 0 .. window - 1")
    if x.shape[0] >= window:
        windows = np.lib.stride_tricks.sliding_window_view(x, window, axis=0)
        fill[window - 1 - lag:x.shape[0] - lag] = np.tensordot(windows, _taps(window, deriv, lag), axes=([-1], [0]))
    return fill


def smooth(x: np.ndarray, window: int, lag: int | None = None) -> np.ndarray:
    """Quadratic Savitzky-Golay smoothing of x (n, ...) along time, each sample from the `window` samples that end
    `lag` samples after it (default window // 2: centred); samples the window does not fit around are left as they
    are."""
    return _lagged(x, window, 0, lag, np.array(x, dtype=np.float64))


def velocity(x: np.ndarray, window: int, rate_hz: float, lag: int | None = None) -> np.ndarray:
    """Quadratic Savitzky-Golay derivative of x (n, ...) per second, each from the `window` samples that end `lag`
    samples after it (default window // 2: centred); NaN where the window does not fit. A lag under window // 2 is
    what a causal estimate with a delay of `lag` samples can use."""
    return _lagged(x, window, 1, lag, np.full(x.shape, np.nan)) * rate_hz


def velocity_on_times(x: np.ndarray, t_ns: np.ndarray, window: int, lag: int | None = None) -> np.ndarray:
    """`velocity` on the samples' own timestamps: the fitted slope per sample over the fitted slope of time per
    sample, so that a dropped frame or a timestamp rounded to the millisecond counts as the time it is. At a steady
    rate it equals `velocity` at that rate."""
    if t_ns.shape != (x.shape[0],):
        raise ValueError("need one timestamp per sample")
    per_sample = velocity(x, window, 1.0, lag)
    seconds_per_sample = velocity((t_ns - t_ns[0]).astype(np.float64) / 1e9, window, 1.0, lag)
    with np.errstate(divide="ignore", invalid="ignore"):
        return per_sample / seconds_per_sample.reshape((-1,) + (1,) * (x.ndim - 1))


def damp_lateral(v: np.ndarray, direction: np.ndarray, weight: float) -> np.ndarray:
    """v (n, m, 3) with its horizontal part across `direction` (n, 3) scaled by `weight`. A foot lands along the
    direction of travel and downwards; across it, in a side view, lies the depth axis, which from MediaPipe's world
    landmarks is mostly noise (3-4 legs/s on a treadmill runner's landing foot)."""
    if v.ndim != 3 or direction.shape != (v.shape[0], v.shape[2]) or v.shape[2] != 3:
        raise ValueError("need v (n, m, 3) and direction (n, 3)")
    horizontal = np.array(direction, dtype=np.float64)
    horizontal[:, 1] = 0.0
    horizontal /= np.maximum(1e-9, np.linalg.norm(horizontal, axis=1, keepdims=True))
    horizontal = horizontal[:, None, :]
    across = v - np.sum(v * horizontal, axis=-1, keepdims=True) * horizontal
    across[..., 1] = 0.0
    return v - (1.0 - weight) * across


def landed_foot_ground(heel_velocity: np.ndarray, toe_velocity: np.ndarray, ground: slice) -> np.ndarray | None:
    """The ground's velocity relative to the hips, from a foot known to be down over the samples `ground`: the median
    of its heel's and toe's mean velocity (render mode, which can wait until after the landing)."""
    foot = 0.5 * (heel_velocity[ground] + toe_velocity[ground])
    foot = foot[np.all(np.isfinite(foot), axis=1)]
    return np.median(foot, axis=0) if foot.shape[0] else None


def stance_foot_ground(foot_velocity: np.ndarray, direction: np.ndarray) -> np.ndarray | None:
    """The ground's velocity relative to the hips from the recent past alone (live mode): at each sample the foot
    moving backwards fastest along the direction of travel is the one on the ground; the median over the samples.

    foot_velocity: (n, 2, d) mean heel-and-toe velocity of each foot; direction: (n, d)."""
    along = np.einsum("nfk,nk->nf", foot_velocity, direction)
    ok = np.all(np.isfinite(along), axis=1) & np.all(np.isfinite(foot_velocity), axis=(1, 2))
    if not ok.any():
        return None
    rows = np.flatnonzero(ok)
    return np.median(foot_velocity[rows, np.argmin(along[rows], axis=1)], axis=0)


def _speed_over_ground(heel_velocity: np.ndarray, toe_velocity: np.ndarray, ground: np.ndarray) -> np.ndarray:
    """(n,) speed relative to the ground of the slower of heel and toe: the part of the foot that touches first."""
    return np.minimum(np.linalg.norm(heel_velocity - ground, axis=1), np.linalg.norm(toe_velocity - ground, axis=1))


def landing_index(heel_velocity: np.ndarray, toe_velocity: np.ndarray, ground: np.ndarray, search: slice,
                  speed: float) -> float | None:
    """Sub-sample index at which the foot lands, or None when it does not visibly land within `search`.

    heel_velocity, toe_velocity: (n, d) velocities relative to the hips; ground: (d,) the ground's. The first downward
    crossing of `speed` by the slower of heel and toe (relative to the ground) wins.
    """
    rel = _speed_over_ground(heel_velocity, toe_velocity, ground)
    start, stop = max(1, search.start), min(rel.shape[0], search.stop)
    for i in range(start, stop):
        a, b = rel[i - 1], rel[i]
        if np.isfinite(a) and np.isfinite(b) and a >= speed > b:
            return i - 1 + (a - speed) / (a - b)
    return None


def landing_ahead(heel_velocity: np.ndarray, toe_velocity: np.ndarray, ground: np.ndarray, last: int, speed: float,
                  ahead: float) -> float | None:
    """Sub-sample index after `last` (the newest sample with a velocity) at which the foot lands if it goes on slowing
    down as it did from the sample before: live mode's prediction across the velocity window's lag. None unless the
    foot is still above `speed`, slowing, and would cross it within `ahead` samples."""
    if last < 1 or ahead <= 0:
        return None
    before, now = _speed_over_ground(heel_velocity[last - 1:last + 1], toe_velocity[last - 1:last + 1], ground)
    slowing = before - now
    if not (np.isfinite(before) and np.isfinite(now)) or now < speed or slowing <= 0:
        return None
    dx = (now - speed) / slowing
    return last + dx if dx <= ahead else None
