"""The One-Euro filter (Casiez et al. 2012): causal low-pass whose cutoff rises with speed.

Slow signals get heavy smoothing (jitter gone), fast ones little (lag small): what a landing foot needs.
Vectorised over any number of channels; time steps come from the timestamps, so dropped frames are handled.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuroParams:
    min_cutoff_hz: float = 2.0
    beta: float = 0.5
    derivative_cutoff_hz: float = 1.0

    def __post_init__(self) -> None:
        if self.min_cutoff_hz <= 0 or self.derivative_cutoff_hz <= 0 or self.beta < 0:
            raise ValueError("One-Euro cutoffs must be positive and beta non-negative")


def _alpha(cutoff_hz: np.ndarray | float, dt_s: float) -> np.ndarray | float:
    tau = 1.0 / (2.0 * np.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt_s)


class OneEuroFilter:
    def __init__(self, params: OneEuroParams) -> None:
        self.params = params
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t_ns: int | None = None

    def reset(self) -> None:
        self._x = self._dx = None
        self._t_ns = None

    def __call__(self, t_ns: int, value: np.ndarray) -> np.ndarray:
        value = np.asarray(value, dtype=np.float64)
        if self._x is None or self._t_ns is None or t_ns <= self._t_ns:
            self._x = value.copy()
            self._dx = np.zeros_like(value)
            self._t_ns = t_ns
            return self._x.copy()
        p = self.params
        dt = (t_ns - self._t_ns) / 1e9
        dx = (value - self._x) / dt
        a_d = _alpha(p.derivative_cutoff_hz, dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        a = _alpha(p.min_cutoff_hz + p.beta * np.abs(self._dx), dt)
        self._x = a * value + (1 - a) * self._x
        self._t_ns = t_ns
        return self._x.copy()
