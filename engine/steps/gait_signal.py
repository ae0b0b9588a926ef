"""Per-frame gait features of one person, in leg lengths, from MediaPipe's 33 landmarks.

Feet are described relative to the hips' midpoint, which makes the signals independent of where the person is on
screen, of a panning camera and of a treadmill's belt. x and y come from the image (MediaPipe's most precise axes),
scaled by the on-screen leg length; z, the depth axis a side view cannot see, comes from MediaPipe's world landmarks
scaled by the world leg length. Together they let the same detector see steps from the side, the front, the back and
at any angle in between.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from footfall.engine.messages import (LEFT_ANKLE, LEFT_FOOT_INDEX, LEFT_HEEL, LEFT_HIP, LEFT_KNEE, RIGHT_ANKLE,
                                      RIGHT_FOOT_INDEX, RIGHT_HEEL, RIGHT_HIP, RIGHT_KNEE, PersonPose)

# Rows of BodyFrame.points: the two heels, then the two toes (left first).
HEEL_L, HEEL_R, TOE_L, TOE_R = 0, 1, 2, 3
FOOT_POINTS = (LEFT_HEEL, RIGHT_HEEL, LEFT_FOOT_INDEX, RIGHT_FOOT_INDEX)
LEFT_LEG = (LEFT_KNEE, LEFT_ANKLE, LEFT_HEEL, LEFT_FOOT_INDEX)
RIGHT_LEG = (RIGHT_KNEE, RIGHT_ANKLE, RIGHT_HEEL, RIGHT_FOOT_INDEX)
_UP = np.array([0.0, -1.0, 0.0])  # world landmarks use the camera's axes: y points down


@dataclass(frozen=True, eq=False)
class BodyFrame:
    """One frame of one person, ready for step detection.

    points: float64 (4, 3) heels and toes relative to the hips' midpoint, in leg lengths (z is 0 without world
    landmarks). legs_px: (2, 4, 2) screen pixels of knee, ankle, heel and toe of the left and right leg (for telling
    swapped legs apart). facing: unit (3,) horizontal direction the pelvis faces (from the world hips), or None.
    """

    points: np.ndarray
    hip_px: np.ndarray
    leg_px: float
    legs_px: np.ndarray
    facing: np.ndarray | None
    foot_visibility: tuple[float, float]  # left, right
    has_depth: bool

    def swapped(self) -> "BodyFrame":
        """The same frame with the left and right legs exchanged (undoing the tracker's leg swap)."""
        return BodyFrame(self.points[[HEEL_R, HEEL_L, TOE_R, TOE_L]], self.hip_px, self.leg_px,
                         self.legs_px[::-1].copy(), self.facing, self.foot_visibility[::-1], self.has_depth)

    def in_legs_of(self, leg_px: float) -> "BodyFrame":
        """The same frame with its screen axes in units of `leg_px` (a track's smoothed leg length): one frame's own
        length jitters by 1.5% (p95 6%) from the next, which the feet's positions would carry."""
        points = self.points.copy()
        points[:, :2] *= self.leg_px / max(leg_px, 1e-9)
        return BodyFrame(points, self.hip_px, leg_px, self.legs_px, self.facing, self.foot_visibility, self.has_depth)

    def heel_px(self, foot: int) -> np.ndarray:
        return self.legs_px[foot, 2]


def _leg_length(p: np.ndarray) -> float:
    return float(max(np.linalg.norm(p[h] - p[k]) + np.linalg.norm(p[k] - p[a])
                     for h, k, a in ((LEFT_HIP, LEFT_KNEE, LEFT_ANKLE), (RIGHT_HIP, RIGHT_KNEE, RIGHT_ANKLE))))


def body_frame(person: PersonPose, width: int, height: int, use_depth: bool = True) -> BodyFrame:
    lm = person.landmarks
    px = lm[:, :2].astype(np.float64) * (width, height)
    hip = (px[LEFT_HIP] + px[RIGHT_HIP]) / 2
    leg_px = _leg_length(px)
    points = np.zeros((4, 3))
    points[:, :2] = (px[list(FOOT_POINTS)] - hip) / max(leg_px, 1e-9)
    facing = None
    world = person.world if use_depth else None
    if world is not None and np.all(np.isfinite(world)):
        w = world.astype(np.float64)
        leg_m = _leg_length(w)
        if leg_m > 1e-6:
            points[:, 2] = (w[list(FOOT_POINTS), 2] - (w[LEFT_HIP, 2] + w[RIGHT_HIP, 2]) / 2) / leg_m
            f = np.cross(w[LEFT_HIP] - w[RIGHT_HIP], _UP)
            norm = float(np.linalg.norm(f))
            facing = f / norm if norm > 1e-9 else None
    vis = lm[:, 3]
    foot_vis = (float(min(vis[LEFT_HEEL], vis[LEFT_ANKLE], vis[LEFT_FOOT_INDEX])),
                float(min(vis[RIGHT_HEEL], vis[RIGHT_ANKLE], vis[RIGHT_FOOT_INDEX])))
    legs_px = np.stack([px[list(LEFT_LEG)], px[list(RIGHT_LEG)]])
    return BodyFrame(points, hip, leg_px, legs_px, facing, foot_vis, facing is not None)


def legs_swapped(before: BodyFrame, last: BodyFrame, current: BodyFrame, ratio: float) -> bool:
    """Whether `current` fits a constant-velocity prediction from the two frames before it much better (by `ratio`)
    with its legs exchanged: the tracker swapped left and right."""
    predicted = 2 * last.legs_px - before.legs_px
    keep = float(np.linalg.norm(current.legs_px - predicted, axis=-1).sum())
    swap = float(np.linalg.norm(current.legs_px[::-1] - predicted, axis=-1).sum())
    return swap < ratio * keep


def screen_facing(frame: BodyFrame) -> np.ndarray:
    """Heel-to-toe direction of both feet on screen (z = 0): where the person faces without world landmarks."""
    p = frame.points
    v = p[TOE_L] - p[HEEL_L] + p[TOE_R] - p[HEEL_R]
    v[2] = 0.0
    return v
