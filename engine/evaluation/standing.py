"""People who do not walk, made from the walking takes: what false steps are measured on.

Each take's upper body keeps its own motion (arms, shoulders, head: the gestures and the breathing of a person in
motion), carried by a pelvis that stays where the take began; the legs stand on the ground under the hips, facing the
way the take first faced. Three kinds:
- `stand`: standing still, a slow sway of a centimetre or two;
- `shift`: shifting the weight from foot to foot (the pelvis swings 5 cm sideways and the knee of the unloaded leg
  bends, every 2.5 s), feet planted;
- `jump`: hopping in place, both feet leaving the ground together (12 cm, 1.5 hops a second).
None of them has a step. Points are MediaPipe's 33 landmarks in metres, Y up (projection.landmarks_3d's layout).
"""
from __future__ import annotations

import numpy as np

KINDS = ("stand", "shift", "jump")
_UP = np.array([0.0, 1.0, 0.0])
_LEFT = {"hip": 23, "knee": 25, "ankle": 27, "heel": 29, "toe": 31}
_RIGHT = {"hip": 24, "knee": 26, "ankle": 28, "heel": 30, "toe": 32}
UPPER_BODY = slice(0, 23)  # face, shoulders, arms and hands


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-9)


def standing_points(points: np.ndarray, fps: float, kind: str, seed: int = 0) -> np.ndarray:
    """(frames, 33, 3) landmarks of a person doing `kind` for the take's duration, from the take's `points`."""
    if kind not in KINDS:
        raise ValueError(f"standing kind must be one of {', '.join(KINDS)}, not {kind!r}")
    n = points.shape[0]
    t = np.arange(n) / fps
    pelvis = 0.5 * (points[:, 23] + points[:, 24])
    ground = float(np.percentile(points[:, [29, 30, 31, 32], 1], 2))
    lateral = points[0, 23] - points[0, 24]
    lateral[1] = 0.0
    lateral = _unit(lateral)  # towards the person's left
    facing = np.cross(lateral, _UP)
    half_hips = 0.5 * float(np.median(np.linalg.norm(points[:, 23] - points[:, 24], axis=1)))
    ankle_height = float(np.median(points[:, [27, 28], 1])) - ground
    ankle_height = float(np.clip(ankle_height, 0.05, 0.15))
    leg = float(np.median(np.linalg.norm(points[:, 23] - points[:, 27], axis=1)))

    rng = np.random.default_rng(seed)
    sway = np.zeros((n, 3))
    for axis in (lateral, facing):  # a slow sway: two low sines of random phase, 1-2 cm
        sway += np.outer(0.012 * np.sin(2 * np.pi * rng.uniform(0.1, 0.3) * t + rng.uniform(0, 2 * np.pi)), axis)
    lift = np.zeros(n)  # the whole body, feet included (jump)
    bend = np.zeros((n, 2))  # knee bend of each leg, 0..1
    crouch = np.zeros(n)
    if kind == "shift":
        swing = np.sin(2 * np.pi * t / 2.5 + rng.uniform(0, 2 * np.pi))
        sway += np.outer(0.05 * swing, lateral)
        bend[:, 0] = np.clip(-swing, 0, None)  # the weight goes right: the left knee bends
        bend[:, 1] = np.clip(swing, 0, None)
    elif kind == "jump":
        phase = 2 * np.pi * 1.5 * t + rng.uniform(0, 2 * np.pi)
        crouch[:] = np.clip(-np.sin(phase), 0, None)  # between hops, the knees bend and the body sinks
        lift = 0.12 * np.clip(np.sin(phase), 0, None)
        bend[:] = 0.6 * crouch[:, None]

    out = np.empty_like(points)
    root = pelvis[0].copy()
    root[1] = ground + ankle_height + leg * 0.98
    body = root + sway + np.outer(lift - (0.06 * crouch if kind == "jump" else 0.0), _UP)
    out[:, UPPER_BODY] = points[:, UPPER_BODY] - pelvis[:, None] + body[:, None]
    for side, (joints, sign) in enumerate(((_LEFT, 1.0), (_RIGHT, -1.0))):
        hip = body + sign * half_hips * lateral - 0.03 * leg * bend[:, side:side + 1] * _UP
        foot = root + sign * (half_hips + 0.02) * lateral
        ankle = np.tile(foot, (n, 1))
        ankle[:, 1] = ground + ankle_height
        ankle += np.outer(lift, _UP)
        heel = ankle - 0.05 * facing - (ankle_height - 0.01) * _UP
        toe = ankle + 0.17 * facing - (ankle_height - 0.015) * _UP
        knee = 0.5 * (hip + ankle) + (0.01 + 0.12 * bend[:, side:side + 1]) * leg * facing
        out[:, joints["hip"]], out[:, joints["knee"]], out[:, joints["ankle"]] = hip, knee, ankle
        out[:, joints["heel"]], out[:, joints["toe"]] = heel, toe
    return out
