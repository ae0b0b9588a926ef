"""Skeleton streams from arrays of joint positions (what a game sends), from motion capture or a synthetic walk."""
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


def walking_feet(fps: float, seconds: float = 5.0, speed: float = 1.2, period: float = 1.0, stance: float = 0.6,
                 lift: float = 0.12) -> np.ndarray:
    """(frames, 4, 3) ankle_l, toe_l, ankle_r, toe_r in metres, Y up, walking along +z: each foot rests flat for
    `stance` of its `period`, then swings to the next footprint in a smooth arc (landing at zero speed)."""
    t = np.arange(int(round(seconds * fps))) / fps
    stride = speed * period
    out = np.empty((t.size, 4, 3))
    for side, (x, phase) in enumerate(((0.1, 0.0), (-0.1, 0.5))):
        u = t / period + phase  # cycles; each cycle: stance [0, stance), swing [stance, 1)
        cycle, frac = np.floor(u), u - np.floor(u)
        swing = np.clip((frac - stance) / (1 - stance), 0.0, 1.0)
        ease = 0.5 - 0.5 * np.cos(np.pi * swing)
        z = (cycle + ease) * stride
        height = lift * np.sin(np.pi * swing)
        out[:, 2 * side] = np.stack([np.full_like(t, x), 0.08 + height, z], axis=1)
        out[:, 2 * side + 1] = np.stack([np.full_like(t, x), 0.03 + height, z + 0.15], axis=1)
    return out
