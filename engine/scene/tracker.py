"""Scenes from a stream of CLIP embeddings: a new scene where the picture's embedding jumps away from the scene's.

Each scene keeps a reference embedding (a running mean of its pictures while they stay near it). An embedding
farther than `enter_distance` (cosine distance) from the reference starts a new scene at once when the cut detector
fired on its frame, or after `confirm` such embeddings in a row without a cut (a pan from grass to gravel); below
`exit_distance` it is the same scene again (hysteresis: in between, nothing changes). No scene is shorter than
`min_dwell_ms`. Plain and synchronous: the scene stage feeds it embeddings in media-time order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SceneTrackerParams:
    enter_distance: float = 0.15  # cosine distance from the scene's reference that starts a new scene
    exit_distance: float = 0.08  # ... and below which a picture is the same scene again (hysteresis)
    confirm: int = 2  # embeddings in a row beyond enter_distance that start a scene without a cut
    min_dwell_ms: float = 1000.0  # no scene is shorter than this
    reference_rate: float = 0.2  # weight of each new same-scene embedding in the scene's running mean

    def __post_init__(self) -> None:
        if not 0.0 < self.exit_distance < self.enter_distance <= 2.0:
            raise ValueError("scene distances need 0 < exit_distance < enter_distance <= 2")
        if self.confirm < 1:
            raise ValueError("scene confirm must be at least 1")
        if self.min_dwell_ms < 0.0:
            raise ValueError("scene min_dwell_ms must be >= 0")
        if not 0.0 < self.reference_rate <= 1.0:
            raise ValueError("scene reference_rate must lie in (0, 1]")


@dataclass(frozen=True, eq=False)
class SceneStart:
    """A scene begins at `t_ns`; `embedding` (unit) is what it looks like (the mean of the embeddings that began it);
    `at_cut`: it began on a cut."""

    t_ns: int
    embedding: np.ndarray
    at_cut: bool
    distance: float


class SceneTracker:
    def __init__(self, params: SceneTrackerParams = SceneTrackerParams()) -> None:
        self.params = params
        self._ref: np.ndarray | None = None
        self._start_ns = 0
        self._pending: list[tuple[int, np.ndarray, float]] = []
        self._dwell_ns = int(params.min_dwell_ms * 1e6)

    def push(self, t_ns: int, embedding: np.ndarray, at_cut: bool) -> SceneStart | None:
        """The scene that starts with this embedding (the first one always starts one), or None."""
        e = np.asarray(embedding, np.float32)
        if self._ref is None:
            return self._begin(t_ns, e, at_cut, 0.0)
        d = 1.0 - float(self._ref @ e)
        p = self.params
        if d < p.exit_distance:
            self._pending.clear()
            ref = (1.0 - p.reference_rate) * self._ref + p.reference_rate * e
            self._ref = ref / max(float(np.linalg.norm(ref)), 1e-12)
            return None
        if d <= p.enter_distance or t_ns - self._start_ns < self._dwell_ns:
            return None
        if at_cut:
            return self._begin(t_ns, e, True, d)
        self._pending.append((t_ns, e, d))
        if len(self._pending) < p.confirm:
            return None
        t0 = self._pending[0][0]
        mean = np.mean([x[1] for x in self._pending], axis=0)
        dist = float(np.mean([x[2] for x in self._pending]))
        return self._begin(t0, mean / max(float(np.linalg.norm(mean)), 1e-12), False, dist)

    def _begin(self, t_ns: int, e: np.ndarray, at_cut: bool, distance: float) -> SceneStart:
        self._ref = e
        self._start_ns = t_ns
        self._pending.clear()
        return SceneStart(t_ns, e, at_cut, distance)
