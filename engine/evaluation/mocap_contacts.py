"""True foot contacts from motion capture: the ground truth for the mocap evaluation.

The rule (one definition of contact, used for every take):
- Each foot has two ground points: the heel (a point behind and below the ankle joint, `heel_points`) and the ball
  (the toe joint). Each point's ground level is a low percentile of its own height over the take, so a skeleton whose
  joints sit above the sole, or a floor that is not at y = 0, needs no calibration.
- A point's contact score per frame is max(height above its ground level / height_m, horizontal speed / speed_m_s);
  a foot's score is the lower of its two points' scores (heel strike or toe strike, whichever comes first).
- Hysteresis: a foot enters stance when its score falls to 1 and leaves when it rises above `release`. Stances shorter
  than `min_stance_s` are dropped; swings shorter than `min_swing_s` are closed (one stance).
- The contact time is the first frame of a stance, made sub-frame by interpolating the score's crossing of 1 between
  that frame and the one before. That is the instant the heel (or ball) arrives at the ground and stops.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from footfall.engine.messages import NS_PER_S


@dataclass(frozen=True)
class ContactParams:
    height_m: float = 0.025
    speed_m_s: float = 1.0
    release: float = 1.5
    min_stance_s: float = 0.06
    min_swing_s: float = 0.1
    ground_percentile: float = 5.0
    heel_back_m: float = 0.05  # the heel point: this far behind the ankle along the foot ...
    heel_drop_m: float | None = None  # ... and this far below it (None: measured per take, see heel_points)

    def __post_init__(self) -> None:
        if self.height_m <= 0 or self.speed_m_s <= 0 or self.release < 1:
            raise ValueError("height_m and speed_m_s must be positive and release at least 1")


@dataclass(frozen=True)
class Contact:
    """One foot landing: exact time, the frame of first contact (first frame at or after it) and the foot."""

    t_ns: int
    frame: int
    foot: str  # "left" or "right"


def foot_frames(ankle: np.ndarray, toe: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame unit vectors: forward along the foot (ankle to toe) and the foot's own up (perpendicular, vertical plane)."""
    forward = toe - ankle
    forward /= np.maximum(np.sqrt(np.sum(forward * forward, axis=-1, keepdims=True)), 1e-9)
    lateral = np.zeros_like(forward)  # forward x (0, 1, 0), written out (np.cross costs more than the rest here)
    lateral[..., 0], lateral[..., 2] = -forward[..., 2], forward[..., 0]
    lateral /= np.maximum(np.sqrt(np.sum(lateral * lateral, axis=-1, keepdims=True)), 1e-9)
    up = np.empty_like(forward)  # lateral x forward
    up[..., 0] = lateral[..., 1] * forward[..., 2] - lateral[..., 2] * forward[..., 1]
    up[..., 1] = lateral[..., 2] * forward[..., 0] - lateral[..., 0] * forward[..., 2]
    up[..., 2] = lateral[..., 0] * forward[..., 1] - lateral[..., 1] * forward[..., 0]
    return forward, up


def heel_drop(ankle: np.ndarray, toe: np.ndarray, percentile: float = 5.0) -> float:
    """How far the heel lies below the ankle: the ankle's and the toe joint's ground heights differ by about that."""
    return float(np.clip(np.percentile(ankle[:, 1], percentile) - np.percentile(toe[:, 1], percentile), 0.02, 0.12))


def heel_points(ankle: np.ndarray, toe: np.ndarray, back_m: float = 0.05, drop_m: float | None = None,
                length_m: float | None = None) -> np.ndarray:
    """A heel point (frames, 3) that follows the foot's pitch.

    With the foot flat, the heel is `back_m` behind the ankle horizontally and `drop_m` below it (default: at the toe
    joint's ground level). That offset is expressed in the foot's own frame at its flat (stance) pitch and carried
    along as the foot rotates. `length_m` is the ankle-to-toe length (default: the median over the frames given),
    or one length per row of `ankle` (several feet at once).
    """
    forward, up = foot_frames(ankle, toe)
    length = np.median(np.linalg.norm(toe - ankle, axis=-1)) if length_m is None else np.asarray(length_m, float)
    drop = heel_drop(ankle, toe) if drop_m is None else drop_m
    sin_a = np.minimum(drop / np.maximum(length, 1e-9), 0.95)  # the toe joint sits this much below the ankle, flat
    cos_a = np.sqrt(1 - sin_a * sin_a)
    along = (-back_m * cos_a + drop * sin_a)[..., None]
    across = (-back_m * sin_a - drop * cos_a)[..., None]
    return ankle + along * forward + across * up


def point_scores(points: np.ndarray, fps: float, params: ContactParams) -> np.ndarray:
    """Contact score per frame of one ground point (frames, 3), Y up; at most 1 means on the ground."""
    height = points[:, 1] - np.percentile(points[:, 1], params.ground_percentile)
    step = np.linalg.norm(np.diff(points[:, [0, 2]], axis=0), axis=1) * fps
    # central differences inside, one-sided at the ends
    speed = np.empty(points.shape[0])
    speed[0], speed[-1] = step[0], step[-1]
    speed[1:-1] = 0.5 * (step[:-1] + step[1:])
    return np.maximum(np.maximum(height, 0.0) / params.height_m, speed / params.speed_m_s)


def stance_intervals(score: np.ndarray, fps: float, params: ContactParams) -> list[tuple[int, int]]:
    """[start, end) frame intervals of stance from a foot's score, with hysteresis and minimum durations."""
    intervals: list[list[int]] = []
    on = False
    for i, s in enumerate(score):
        if not on and s <= 1.0:
            on = True
            intervals.append([i, len(score)])
        elif on and s > params.release:
            on = False
            intervals[-1][1] = i
    min_swing = int(round(params.min_swing_s * fps))
    merged: list[list[int]] = []
    for interval in intervals:
        if merged and interval[0] - merged[-1][1] < min_swing:
            merged[-1][1] = interval[1]
        else:
            merged.append(interval)
    min_stance = int(round(params.min_stance_s * fps))
    return [(a, b) for a, b in merged if b - a >= max(min_stance, 1)]


def onset_time_s(score: np.ndarray, frame: int, fps: float) -> float:
    """Sub-frame time at which the score crosses 1 going down, between `frame - 1` and `frame`."""
    if frame == 0 or score[frame - 1] <= 1.0:
        return frame / fps
    before, at = score[frame - 1], score[frame]
    fraction = (before - 1.0) / (before - at) if before != at else 1.0
    return (frame - 1 + float(np.clip(fraction, 0.0, 1.0))) / fps


def foot_contacts(ankle: np.ndarray, toe: np.ndarray, fps: float, params: ContactParams = ContactParams(),
                  foot: str = "left") -> list[Contact]:
    """Contacts of one foot from its ankle and toe joint trajectories (frames, 3) in metres, Y up.

    A stance already under way in the first frame is not a landing and is skipped.
    """
    heel = heel_points(ankle, toe, params.heel_back_m, params.heel_drop_m)
    score = np.minimum(point_scores(heel, fps, params), point_scores(toe, fps, params))
    contacts = []
    for start, _ in stance_intervals(score, fps, params):
        if start == 0:
            continue
        t_s = onset_time_s(score, start, fps)
        contacts.append(Contact(int(round(t_s * NS_PER_S)), start, foot))
    return contacts


def contacts_from_positions(positions: np.ndarray, joint_index: dict[str, int], fps: float,
                            params: ContactParams = ContactParams()) -> list[Contact]:
    """Both feet's contacts, time-ordered, from world positions (frames, joints, 3) and the foot joints' indices
    (keys foot_l, toe_l, foot_r, toe_r)."""
    left = foot_contacts(positions[:, joint_index["foot_l"]], positions[:, joint_index["toe_l"]], fps, params, "left")
    right = foot_contacts(positions[:, joint_index["foot_r"]], positions[:, joint_index["toe_r"]], fps, params, "right")
    return sorted(left + right, key=lambda c: c.t_ns)
