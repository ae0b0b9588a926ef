"""Per-frame gait features of one person, in pixels, from MediaPipe's 33 landmarks.

The detector works on "how far ahead of the hips is the leading heel, along the direction of travel, in leg
lengths" (Zeni et al. 2008, generalised from side views to any direction on screen). Taking the leading foot of the
two makes the signal immune to MediaPipe swapping left and right legs: the envelope peaks at every heel strike
whichever label the foot carries.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from footfall.engine.messages import (LEFT_ANKLE, LEFT_FOOT_INDEX, LEFT_HEEL, LEFT_HIP, LEFT_KNEE, RIGHT_ANKLE,
                                      RIGHT_FOOT_INDEX, RIGHT_HEEL, RIGHT_HIP, RIGHT_KNEE, PersonPose)

# Per-frame feature vector layout, so filters run on one array.
HIP_X, HIP_Y = 0, 1
HEEL_L_X, HEEL_L_Y, HEEL_R_X, HEEL_R_Y = 2, 3, 4, 5
TOE_L_X, TOE_L_Y, TOE_R_X, TOE_R_Y = 6, 7, 8, 9
N_FEATURES = 10


@dataclass(frozen=True)
class GaitFrame:
    """Raw features of one frame: positions in pixels, leg length in pixels, per-foot visibility."""

    features: np.ndarray  # float64 (N_FEATURES,)
    leg_px: float
    foot_visibility: tuple[float, float]  # left, right


def gait_frame(person: PersonPose, width: int, height: int) -> GaitFrame:
    lm = person.landmarks
    px = lm[:, :2].astype(np.float64) * (width, height)
    hip = (px[LEFT_HIP] + px[RIGHT_HIP]) / 2
    feats = np.concatenate([hip, px[LEFT_HEEL], px[RIGHT_HEEL], px[LEFT_FOOT_INDEX], px[RIGHT_FOOT_INDEX]])
    legs = [np.linalg.norm(px[h] - px[k]) + np.linalg.norm(px[k] - px[a])
            for h, k, a in ((LEFT_HIP, LEFT_KNEE, LEFT_ANKLE), (RIGHT_HIP, RIGHT_KNEE, RIGHT_ANKLE))]
    vis = lm[:, 3]
    foot_vis = (float(min(vis[LEFT_HEEL], vis[LEFT_ANKLE], vis[LEFT_FOOT_INDEX])),
                float(min(vis[RIGHT_HEEL], vis[RIGHT_ANKLE], vis[RIGHT_FOOT_INDEX])))
    return GaitFrame(feats, float(max(legs)), foot_vis)


def forward_distances(features: np.ndarray, direction: np.ndarray, leg_px: float) -> tuple[float, float]:
    """Each heel's distance ahead of the hips along `direction` (unit vector on screen), in leg lengths."""
    hip = features[[HIP_X, HIP_Y]]
    left = features[[HEEL_L_X, HEEL_L_Y]] - hip
    right = features[[HEEL_R_X, HEEL_R_Y]] - hip
    return float(left @ direction) / leg_px, float(right @ direction) / leg_px


def facing_direction(features: np.ndarray) -> np.ndarray:
    """Heel-to-toe direction of both feet: where the person faces when the hips don't travel (treadmill, in place)."""
    v = (features[[TOE_L_X, TOE_L_Y]] - features[[HEEL_L_X, HEEL_L_Y]]
         + features[[TOE_R_X, TOE_R_Y]] - features[[HEEL_R_X, HEEL_R_Y]])
    return v
