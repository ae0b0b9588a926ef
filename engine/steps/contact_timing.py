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
def _taps(window: int, deriv: int) -> np.ndarray:
    """Savitzky-Golay taps (quadratic fit over `window` samples) for the value (deriv 0) or slope (deriv 1) at the
    centre; plain least squares, so the render path does not pay for importing scipy.signal."""
    x = np.arange(window) - window // 2
    return np.linalg.pinv(np.vander(x, 3, increasing=True))[deriv]


def _apply(x: np.ndarray, window: int, deriv: int) -> np.ndarray:
    """The taps over every full window of x (n, ...): (n - window + 1, ...)."""
    windows = np.lib.stride_tricks.sliding_window_view(x, window, axis=0)
    return np.tensordot(windows, _taps(window, deriv), axes=([-1], [0]))


def smooth(x: np.ndarray, window: int) -> np.ndarray:
    """Quadratic Savitzky-Golay smoothing of x (n, ...) along time; the window // 2 samples at each end, which the
    window does not fit around, are left as they are."""
    h = window // 2
    out = np.array(x, dtype=np.float64)
    if x.shape[0] >= window:
        out[h:x.shape[0] - h] = _apply(x, window, 0)
    return out


def velocity(x: np.ndarray, window: int, rate_hz: float) -> np.ndarray:
    """Quadratic Savitzky-Golay derivative of x (n, ...) per second, for samples window // 2 .. n - window // 2 - 1;
    NaN where the window does not fit."""
    h = window // 2
    out = np.full(x.shape, np.nan)
    if x.shape[0] >= window:
        out[h:x.shape[0] - h] = _apply(x, window, 1) * rate_hz
    return out


def landing_index(heel_velocity: np.ndarray, toe_velocity: np.ndarray, ground: slice, search: slice,
                  speed: float) -> float | None:
    """Sub-sample index at which the foot lands, or None when it never visibly does.

    heel_velocity, toe_velocity: (n, d) velocities relative to the hips. ground: samples (after the landing) whose
    median velocity of heel and toe is the ground's. search: where to look for the landing; the first downward
    crossing of `speed` by the slower of heel and toe (relative to the ground) wins.
    """
    foot = 0.5 * (heel_velocity[ground] + toe_velocity[ground])
    foot = foot[np.all(np.isfinite(foot), axis=1)]
    if foot.shape[0] == 0:
        return None
    g = np.median(foot, axis=0)
    rel = np.minimum(np.linalg.norm(heel_velocity - g, axis=1), np.linalg.norm(toe_velocity - g, axis=1))
    start, stop = max(1, search.start), min(rel.shape[0], search.stop)
    for i in range(start, stop):
        a, b = rel[i - 1], rel[i]
        if np.isfinite(a) and np.isfinite(b) and a >= speed > b:
            return i - 1 + (a - speed) / (a - b)
    return None
