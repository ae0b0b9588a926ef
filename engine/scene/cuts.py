"""A cheap per-frame cut detector: a colour and a texture histogram of a sparse grid of the analysis image.

Why a grid: a cut changes the whole picture, so a few hundred pixels tell it as well as a million. The grid is a
strided view of the frame's image (no copy, no resize), the histograms are written by one numba kernel into arrays
owned by the detector, so the per-frame path allocates nothing. Colour: 8 x 8 x 8 RGB bins; texture: 8 bins of the
absolute luma difference to the grid's right-hand neighbour (grass and gravel against a smooth floor). The distance
of two frames is the larger of the two histograms' total-variation distances (0 alike .. 1 disjoint).
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

COLOUR_BINS = 512  # 3 bits per channel
TEXTURE_BINS = 8
TEXTURE_SHIFT = 3  # |luma difference| >> 3, clamped to the last bin: 0-7, 8-15, ... 56 and more


@dataclass(frozen=True)
class CutParams:
    """When two consecutive frames are a cut."""

    grid: int = 48  # sample points along the image's longer side (the shorter side gets as many per pixel)
    threshold: float = 0.45  # histogram distance (0..1) above which two consecutive frames are a cut
    min_interval_ms: float = 250.0  # a second cut this soon after one is a flash or a transition, not a new shot

    def __post_init__(self) -> None:
        if not 8 <= self.grid <= 512:
            raise ValueError("scene cut grid must lie in 8..512 points")
        if not 0.0 < self.threshold < 1.0:
            raise ValueError("scene cut threshold must lie in (0, 1)")
        if self.min_interval_ms < 0.0:
            raise ValueError("scene cut min_interval_ms must be >= 0")


@numba.njit(nogil=True, cache=True)
def _grid_histograms_kernel(image, step, colour, texture):  # pragma: no cover - compiled
    colour[:] = 0.0
    texture[:] = 0.0
    h, w = image.shape[0], image.shape[1]
    for y in range(step // 2, h, step):
        prev = -1
        for x in range(step // 2, w, step):
            r, g, b = image[y, x, 0], image[y, x, 1], image[y, x, 2]
            colour[(r >> 5) * 64 + (g >> 5) * 8 + (b >> 5)] += 1.0
            luma = (77 * np.int32(r) + 150 * np.int32(g) + 29 * np.int32(b)) >> 8
            if prev >= 0:
                d = abs(luma - prev) >> TEXTURE_SHIFT
                texture[min(d, TEXTURE_BINS - 1)] += 1.0
            prev = luma
    n = colour.sum()
    if n > 0:
        colour /= n
    m = texture.sum()
    if m > 0:
        texture /= m


@numba.njit(nogil=True, cache=True)
def _tv_distance_kernel(a, b):  # pragma: no cover - compiled
    total = 0.0
    for i in range(a.shape[0]):
        total += abs(a[i] - b[i])
    return 0.5 * total


def grid_step(height: int, width: int, grid: int) -> int:
    """Pixels between sample points for a `grid`-point longer side (at least 1)."""
    return max(1, max(height, width) // grid)


def grid_histograms(image: np.ndarray, step: int, colour: np.ndarray, texture: np.ndarray) -> None:
    """Fills `colour` (512) and `texture` (8) float64 arrays with the normalised histograms of `image`'s grid
    (RGB uint8 (H, W, 3), any strides) sampled every `step` pixels from step // 2."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] < 3:
        raise ValueError("grid_histograms needs an RGB uint8 image (H, W, 3)")
    if colour.shape != (COLOUR_BINS,) or texture.shape != (TEXTURE_BINS,) or colour.dtype != np.float64 \
            or texture.dtype != np.float64:
        raise ValueError("grid_histograms needs float64 arrays of 512 and 8 bins")
    if step < 1:
        raise ValueError("grid step must be at least 1")
    _grid_histograms_kernel(image, step, colour, texture)


def grid_histograms_reference(image: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """The same histograms in plain NumPy (the kernel is tested against this)."""
    g = image[step // 2 :: step, step // 2 :: step, :3].astype(np.int32)
    idx = (g[..., 0] >> 5) * 64 + (g[..., 1] >> 5) * 8 + (g[..., 2] >> 5)
    colour = np.bincount(idx.ravel(), minlength=COLOUR_BINS).astype(np.float64)
    luma = (77 * g[..., 0] + 150 * g[..., 1] + 29 * g[..., 2]) >> 8
    d = np.minimum(np.abs(np.diff(luma, axis=1)) >> TEXTURE_SHIFT, TEXTURE_BINS - 1)
    texture = np.bincount(d.ravel(), minlength=TEXTURE_BINS).astype(np.float64)
    return colour / max(colour.sum(), 1.0), texture / max(texture.sum(), 1.0)


class CutDetector:
    """Consecutive frames' histogram distance; a cut where it exceeds the threshold (not within min_interval_ms
    of the last cut). Plain and synchronous: `push` is called on each frame as it is decoded."""

    def __init__(self, params: CutParams = CutParams()) -> None:
        self.params = params
        self._colour = np.zeros((2, COLOUR_BINS), np.float64)
        self._texture = np.zeros((2, TEXTURE_BINS), np.float64)
        self._current = 0
        self._frames = 0
        self._last_cut_ns: int | None = None
        self._min_gap_ns = int(params.min_interval_ms * 1e6)
        self.last_distance = 0.0

    def push(self, t_ns: int, image: np.ndarray) -> bool:
        """True when the frame at `t_ns` starts a new shot."""
        k = self._current = 1 - self._current
        grid_histograms(image, grid_step(image.shape[0], image.shape[1], self.params.grid), self._colour[k],
                        self._texture[k])
        self._frames += 1
        if self._frames == 1:
            return False
        j = 1 - k
        self.last_distance = d = max(_tv_distance_kernel(self._colour[k], self._colour[j]),
                                     _tv_distance_kernel(self._texture[k], self._texture[j]))
        if d <= self.params.threshold:
            return False
        if self._last_cut_ns is not None and t_ns - self._last_cut_ns < self._min_gap_ns:
            return False
        self._last_cut_ns = t_ns
        return True
