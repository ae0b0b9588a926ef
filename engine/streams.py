"""Skeleton streams from arrays of joint positions: what a game sends, built from motion capture."""
from __future__ import annotations

from typing import Iterator

import numpy as np

from footfall.engine.messages import NS_PER_S, CharacterJoints, SkeletonSample


def frame_time_ns(index: int, fps: float) -> int:
    """Media time of frame `index` at `fps` (frame 0 at 0), in integer nanoseconds."""
    return int(round(index * NS_PER_S / fps))


def skeleton_stream(feet: np.ndarray, fps: float, track_id: int = 0, start_ns: int = 0) -> Iterator[SkeletonSample]:
    """One SkeletonSample per frame of `feet` (frames, 4, 3): ankle_l, toe_l, ankle_r, toe_r in metres, Y up."""
    for i in range(feet.shape[0]):
        yield SkeletonSample(start_ns + frame_time_ns(i, fps), (CharacterJoints(track_id, feet[i]),))
