"""Causal foot contacts from 3-D skeletons: SkeletonSamples in, StepEvents out, at most about a frame late.

A game or a motion-capture stream knows its world, so no screen-space gait signal is needed: a foot has landed when
its heel or its ball is down on the ground and has stopped moving along it. This is the same rule that defines the
motion-capture truth (mocap_contacts), run online:
- each foot has two ground points, the heel (behind and below the ankle in the foot's frame, mocap_contacts.heel_points)
  and the ball (the toe joint);
- a point's clearance is its height above the ground (the sender's `ground_y`, else 0) less its own resting height,
  a low percentile of its clearance so far (joints sit above the sole; learned per character as it walks);
- its speed along the ground is the central difference the truth uses, extrapolated from the last two frames;
- score = max(clearance / height_m, speed / speed_m_s); a foot's score is the lower of its two points';
- hysteresis: a foot lands when its score falls to 1 and lifts when it rises above `release`; a landing within
  `min_swing_ms` of the lift is the same stance. The contact time is interpolated between the frame before and the
  frame of landing, so a step is emitted on the frame it lands and its contact time lies within that frame.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from footfall.engine.evaluation.mocap_contacts import heel_points
from footfall.engine.messages import CharacterJoints, SkeletonSample, StepEvent

FEET = ("left", "right")


@dataclass(frozen=True)
class Contact3DParams:
    height_m: float = 0.025  # a ground point this high above its resting height is off the ground (score 1)
    speed_m_s: float = 1.0  # ... or moving this fast along the ground
    release: float = 1.5  # a foot lifts when its score rises above this (hysteresis)
    min_swing_ms: float = 100.0  # a landing this soon after a lift is the same stance: no step
    heel_back_m: float = 0.05  # the heel point: this far behind the ankle along the foot
    rest_percentile: float = 5.0  # a point's resting height: this percentile of its clearance so far
    history_frames: int = 600  # how many frames the resting heights and foot geometry are learned over
    recalibrate_frames: int = 15  # once that history is a second long, relearn them every this many frames
    speed_extrapolation: float = 0.25  # 0: the last frame's backward speed; 1: the truth's central difference
    # extrapolated from the last two frames (earlier, noisier); between: a blend
    max_gap_ms: float = 300.0  # a character unseen this long starts afresh (and no longer holds the watermark back)
    forget_ms: float = 10_000.0  # a character unseen this long is forgotten
    intensity_speed_m_s: float = 1.0  # the foot's downward speed at landing that maps to intensity ~0.63

    def __post_init__(self) -> None:
        positive = ("height_m", "speed_m_s", "max_gap_ms", "forget_ms", "intensity_speed_m_s")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"steps3d {name} must be positive")
        if self.release < 1:
            raise ValueError("steps3d release must be at least 1")
        if self.min_swing_ms < 0 or self.heel_back_m < 0:
            raise ValueError("steps3d min_swing_ms and heel_back_m must not be negative")
        if not 0 <= self.rest_percentile <= 50:
            raise ValueError("steps3d rest_percentile must lie in 0..50")
        if not 0 <= self.speed_extrapolation <= 1:
            raise ValueError("steps3d speed_extrapolation must lie in 0..1")
        if self.history_frames < 2 or self.recalibrate_frames < 1:
            raise ValueError("steps3d history_frames must be at least 2 and recalibrate_frames at least 1")
        if self.forget_ms < self.max_gap_ms:
            raise ValueError("steps3d forget_ms must be at least max_gap_ms")


@dataclass
class _Character:
    history: np.ndarray  # ring of rows (10,): heel_l, toe_l, heel_r, toe_r heights; ankle/toe joint heights; foot
    # lengths
    filled: int = 0  # rows of history in use
    head: int = 0  # the row the next frame goes in
    rest: np.ndarray = field(default_factory=lambda: np.zeros(4))  # resting clearance: heel_l, toe_l, heel_r, toe_r
    drop: float = 0.05  # heel below the ankle
    length: np.ndarray = field(default_factory=lambda: np.full(2, 0.15))  # ankle-to-toe length per foot
    offset: int = 0  # spreads different characters' relearning over different frames
    seen: int = 0
    last_t: int | None = None
    frame_ns: int = 0
    prev: deque = field(default_factory=lambda: deque(maxlen=2))  # last two frames' ground points (4, 3)
    score: np.ndarray = field(default_factory=lambda: np.full(2, np.inf))
    on: np.ndarray = field(default_factory=lambda: np.zeros(2, dtype=bool))
    lifted_t: list = field(default_factory=lambda: [None, None])


def _percentile(rows: np.ndarray, q: float) -> np.ndarray:
    """np.percentile(rows, q, axis=0) (its linear interpolation), by one partial sort: a tenth of the cost on the
    few hundred rows relearned here."""
    k = (rows.shape[0] - 1) * q / 100.0
    lo = int(np.floor(k))
    hi = min(lo + 1, rows.shape[0] - 1)
    part = np.partition(rows, (lo, hi), axis=0)
    return part[lo] + (k - lo) * (part[hi] - part[lo])


class ContactDetector3D:
    """Per-character contact detection on SkeletonSamples; push/flush/watermark_ns like StepDetector."""

    def __init__(self, params: Contact3DParams = Contact3DParams()) -> None:
        self.params = params
        self._chars: dict[int, _Character] = {}
        self._newest: int | None = None

    def push(self, sample: SkeletonSample) -> list[StepEvent]:
        t = sample.t_ns
        self._newest = t if self._newest is None else max(self._newest, t)
        events: list[StepEvent] = []
        if sample.characters:
            chars = sample.characters
            states = [self._state(j.track_id, t) for j in chars]
            feet = np.array([j.feet for j in chars], dtype=np.float64).reshape(len(chars), 4, 3)
            ground = np.array([0.0 if j.ground_y is None else float(j.ground_y) for j in chars])[:, None]
            points = feet.copy()  # heel_l, toe_l, heel_r, toe_r: every character's at once
            points[:, [0, 2]] = heel_points(feet[:, [0, 2]], feet[:, [1, 3]], self.params.heel_back_m,
                                            np.array([c.drop for c in states])[:, None],
                                            np.array([c.length for c in states]))
            along = feet[:, [1, 3]] - feet[:, [0, 2]]
            rows = np.concatenate([points[:, :, 1] - ground, feet[:, :, 1] - ground,
                                   np.sqrt(np.sum(along * along, axis=2))], axis=1)
            for c, row in zip(states, rows):
                self._remember(c, row, t)
            scores = self._scores(states, points, rows[:, :4], t)
            for k, (joints, c) in enumerate(zip(chars, states)):
                events += self._transitions(joints, c, t, scores[k], points[k])
        self._forget(t)
        return events

    def flush(self) -> list[StepEvent]:
        """End of stream: a causal detector has nothing waiting, so this only forgets everyone."""
        self._chars.clear()
        return []

    def watermark_ns(self) -> int:
        """No step still to come has a contact time before this: a step is emitted on the frame it lands, its contact
        after the character's previous frame. Characters unseen for max_gap_ms no longer hold it back."""
        if self._newest is None:
            return -(2**62)
        gap = int(self.params.max_gap_ms * 1e6)
        active = [c.last_t for c in self._chars.values() if c.last_t is not None and self._newest - c.last_t < gap]
        return min(active) if active else self._newest

    @property
    def characters(self) -> int:
        return len(self._chars)

    # ------------------------------------------------------------------------------------------------ internals

    def _forget(self, t: int) -> None:
        limit = int(self.params.forget_ms * 1e6)
        stale = [k for k, c in self._chars.items() if c.last_t is not None and t - c.last_t > limit]
        for k in stale:
            del self._chars[k]

    def _state(self, track_id: int, t: int) -> _Character:
        p = self.params
        c = self._chars.get(track_id)
        if c is None:
            c = self._chars[track_id] = _Character(np.empty((p.history_frames, 10)),
                                                   offset=track_id % p.recalibrate_frames)
        if c.last_t is not None and (t <= c.last_t or t - c.last_t > p.max_gap_ms * 1e6):
            self._restart(c)  # time went back (a new take) or the character was away: start afresh
        return c

    def _remember(self, c: _Character, row: np.ndarray, t: int) -> None:
        """A frame's history entry (heights above the ground of the ground points and of the joints, foot lengths),
        what is learned from the history, and the character's frame period."""
        c.history[c.head] = row
        c.head = (c.head + 1) % c.history.shape[0]
        c.filled = min(c.filled + 1, c.history.shape[0])
        c.seen += 1
        self._learn(c)
        if c.last_t is not None:
            dt = t - c.last_t
            c.frame_ns = dt if c.frame_ns == 0 else int(0.8 * c.frame_ns + 0.2 * dt)

    def _transitions(self, joints: CharacterJoints, c: _Character, t: int, scores: np.ndarray,
                     points: np.ndarray) -> list[StepEvent]:
        """Hysteresis on each foot's score: landings become steps."""
        p = self.params
        dt = 0 if c.last_t is None else t - c.last_t
        events = []
        for side in (0, 1):
            s = scores[side]
            if len(c.prev) == 0:
                c.on[side] = s <= 1.0  # a stance under way at the start is no landing
            elif not c.on[side] and s <= 1.0:
                c.on[side] = True
                if not self._same_stance(c, side, t):
                    events.append(self._event(joints, c, side, t, dt, float(s), points))
            elif c.on[side] and s > p.release:
                c.on[side] = False
                c.lifted_t[side] = t
        c.score = scores
        c.prev.append(points)
        c.last_t = t
        return events

    @staticmethod
    def _restart(c: _Character) -> None:
        c.prev.clear()
        c.score = np.full(2, np.inf)
        c.on[:] = False
        c.lifted_t = [None, None]
        c.last_t = None

    def _learn(self, c: _Character) -> None:
        """Resting heights and foot geometry from the history: every frame for the first second, then now and then."""
        n = c.filled
        warm = c.frame_ns == 0 or n * c.frame_ns < 1_000_000_000
        if not warm and (c.seen + c.offset) % self.params.recalibrate_frames:
            return
        h = c.history[:n]
        low = _percentile(h[:, :8], self.params.rest_percentile)
        c.rest = low[:4]
        ankle_low = 0.5 * (low[4] + low[6])
        toe_low = 0.5 * (low[5] + low[7])
        c.drop = float(np.clip(ankle_low - toe_low, 0.02, 0.12))  # as mocap_contacts.heel_drop
        c.length = _percentile(h[:, 8:10], 50.0)

    def _scores(self, states: list[_Character], points: np.ndarray, heights: np.ndarray, t: int) -> np.ndarray:
        """(characters, 2): each foot's score, every character of the sample at once."""
        p = self.params
        clearance = np.maximum(heights - np.array([c.rest for c in states]), 0.0) / p.height_m
        dt = np.array([0 if c.last_t is None or not c.prev else t - c.last_t for c in states], dtype=np.float64)
        prev1 = np.array([c.prev[-1] if c.prev else q for c, q in zip(states, points)])
        d = points - prev1
        d1 = np.sqrt(d[..., 0] * d[..., 0] + d[..., 2] * d[..., 2]) / (np.maximum(dt, 1.0) / 1e9)[:, None]
        speed = d1
        if p.speed_extrapolation:
            has2 = np.array([len(c.prev) == 2 and c.frame_ns > 0 for c in states])
            if has2.any():
                prev2 = np.array([c.prev[-2] if h else q for c, q, h in zip(states, prev1, has2)])
                frame = np.array([max(c.frame_ns, 1) for c in states], dtype=np.float64)
                d = prev1 - prev2
                d2 = np.sqrt(d[..., 0] * d[..., 0] + d[..., 2] * d[..., 2]) / (frame / 1e9)[:, None]
                extrapolated = np.maximum(d1 + 0.5 * p.speed_extrapolation * (d1 - d2), 0.0)
                speed = np.where(has2[:, None], extrapolated, d1)
        speed = np.where((dt > 0)[:, None], speed, 0.0)
        point = np.maximum(clearance, speed / p.speed_m_s)
        return np.minimum(point[:, [0, 2]], point[:, [1, 3]])

    def _same_stance(self, c: _Character, side: int, t: int) -> bool:
        lifted = c.lifted_t[side]
        if lifted is None or c.frame_ns == 0:
            return False
        gap_frames = round((t - lifted) / c.frame_ns)
        return gap_frames < round(self.params.min_swing_ms * 1e6 / c.frame_ns)

    def _event(self, joints: CharacterJoints, c: _Character, side: int, t: int, dt: int, score: float,
               points: np.ndarray) -> StepEvent:
        """The landing between the previous frame and this one, where the score crossed 1 (as onset_time_s)."""
        before = float(c.score[side])
        fraction = 1.0
        if np.isfinite(before) and before > 1.0 and before != score:
            fraction = float(np.clip((before - 1.0) / (before - score), 0.0, 1.0))
        contact = t - dt + int(round(fraction * dt))
        low = points[2 * side:2 * side + 2]
        down = 0.0
        if c.prev and dt > 0:
            down = float(np.max(c.prev[-1][2 * side:2 * side + 2, 1] - low[:, 1])) / (dt / 1e9)
        intensity = 1.0 - float(np.exp(-max(down, 0.0) / self.params.intensity_speed_m_s))
        x, y, depth = joints.screen if joints.screen is not None else (0.5, 0.5, 1.0)
        return StepEvent(contact, joints.track_id, FEET[side], float(x), float(y), float(depth), intensity, 1.0,
                         t - contact)
