"""Online heel-strike detection: PoseSamples in, StepEvents out, with a known, bounded delay.

Each person's leading-heel envelope (the heel furthest ahead of the hips along the direction the person moves, see
gait_signal) peaks at every heel strike, whichever leg the tracker calls left. Legs the tracker swapped are swapped
back first. Both modes place the contact where the landing foot stops moving relative to the ground (contact_timing),
which follows the peak by a different time for every gait (-25 ms to +85 ms).

`render` smooths symmetrically, waits up to `render_lookahead_ms` and measures the ground's velocity twice, on the
landed foot after the peak and on the stance foot before it. `live` is causal: the heel lead is smoothed with at most
`live_peak_lag_ms` of samples after each value and a peak is confirmed `live_confirm_ms` later (at least one sample);
foot velocities use at most `live_velocity_lag_ms` of samples after theirs; the ground's velocity comes from the foot
that was on the ground just before. A step is emitted as soon as its landing is seen, or predicted (the foot's slowing
extended in a straight line across at most `live_landing_ahead_ms` of the velocity window's lag), or, when neither
happens,
`contact_offset_ms` after the peak once `live_landing_after_ms` has passed. With `live_predict` a step does not wait
for its landing: it is emitted as soon as its peak is confirmed, scheduled `contact_offset_ms` after the peak (about
35 ms sooner at 30 fps, for a timing error of 13 ms median against 9: see the README). A track that begins at a step has no
velocity there to see the landing in: that step is placed `contact_offset_ms` after its peak at once.

The last step of a stop, the trailing foot set down beside the other, never leads: closing_step finds it once the
feet have rested together for `stop_hold_ms` (render: within the look-ahead; live: that much later).

Every duration in milliseconds is resolved on the samples' own timestamps, never through a frame count: a window of
d ms holds the samples within d ms plus half a frame (what rounding d to frames does at a steady rate), with
`TIMESTAMP_SLACK_NS` more, so timestamps rounded to the millisecond (Matroska, WebM) never move a sample in or out;
each sample is decided exactly once, when the samples its look-ahead needs have come, however irregular the rate.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from footfall.engine.messages import PoseSample, StepEvent
from footfall.engine.steps.closing_step import closing_foot
from footfall.engine.steps.contact_timing import (damp_lateral, landed_foot_ground, landing_ahead, landing_index,
                                                   smooth, stance_foot_ground, velocity_on_times)
from footfall.engine.steps.gait_signal import (HEEL_L, HEEL_R, TOE_L, TOE_R, BodyFrame, body_frame, legs_swapped,
                                               screen_facing)


TIMESTAMP_SLACK_NS = 2_000_000  # two timestamps each rounded to the millisecond are under 1 ms off their difference
PERIOD_SAMPLES = 15  # the frame period is the median of this many recent intervals


@dataclass(frozen=True)
class StepParams:
    mode: Literal["live", "render"] = "render"
    live_confirm_ms: float = 20.0  # live: how long after a peak samples must fall below it (at least one sample)
    live_window_ms: float = 170.0  # live: smoothing and velocity window (the nearest odd number of samples, >= 3)
    live_peak_lag_ms: float = 0.0  # live: how much later samples a heel-lead value's smoothing may use
    live_velocity_lag_ms: float = 67.0  # live: how much later samples a foot velocity's estimate may use
    live_landing_ahead_ms: float = 33.0  # live: how far past the newest velocity a landing may be predicted
    render_lookahead_ms: float = 250.0  # how far render mode may look ahead of a peak
    render_window_ms: float = 170.0  # render mode's symmetric smoothing and velocity window (nearest odd samples)
    peak_window_ms: float = 150.0  # a peak is the highest point this far before it (and, rendering, after it)
    prominence_legs: float = 0.15  # a peak must rise this far (in leg lengths) above the recent trough
    prominence_window_ms: float = 700.0
    min_step_interval_ms: float = 250.0  # two steps closer than this are one
    min_visibility: float = 0.35  # feet less visible than this make no steps
    use_depth: bool = True  # use world landmarks' depth (front and rear views need it)
    swap_ratio: float = 0.6  # legs are swapped back when that fits the motion this much better
    travel_speed_legs_per_s: float = 0.5  # slower than this, the direction comes from where the body faces
    direction_time_constant_ms: float = 200.0
    facing_time_constant_ms: float = 150.0  # smoothing of the pelvis facing from world landmarks (0: none)
    contact_offset_ms: float = 25.0  # heel most forward -> contact, where the landing is not seen
    landing_speed_legs_per_s: float = 1.1  # the foot has landed once it moves slower than this with the ground
    ground_from_ms: float = 70.0  # render: the ground's velocity is the landed foot's, this long after the peak ...
    ground_to_ms: float = 150.0  # ... until this long after it; the landing is looked for until then
    ground_window_ms: float = 300.0  # the stance foot's velocity over this long is the ground's (live: the recent past)
    render_stance_until_ms: float = -40.0  # render: that window ends this long after the peak (negative: before)
    live_landing_after_ms: float = 120.0  # live: how long after the peak a landing may come (and is waited for)
    landing_search_before_ms: float = 120.0  # the landing is looked for from this far before the peak
    landing_offset_ms: float = 0.0  # render: calibration of the measured landing to the first frame of contact
    live_landing_offset_ms: float = 8.0  # live: the same, for its one-sided velocities
    live_predicted_offset_ms: float = 18.0  # live: the same for a predicted landing (a straight line lands early)
    lateral_weight: float = 0.3  # foot velocity across the direction of travel counts this much in timing a landing
    stop_hold_ms: float = 100.0  # a closing step: a foot come forward rests this long, with the other, ...
    stop_still_legs: float = 0.04  # ... moving less than this relative to the hips ...
    stop_level_legs: float = 0.08  # ... at the other's height within this
    max_gap_ms: float = 300.0  # a person unseen this long starts afresh
    reference_leg_fraction: float = 0.3  # leg length / frame height at depth 1.0
    intensity_speed_legs_per_s: float = 4.0  # heel speed before contact that maps to intensity ~0.63
    run_interval_ms: float = 430.0  # two steps in a row closer than this to the previous one are running
    live_predict: bool = False  # live: emit each step as its peak is confirmed, at the contact it predicts

    def __post_init__(self) -> None:
        if self.mode not in ("live", "render"):
            raise ValueError(f"mode must be live or render, not {self.mode!r}")
        if self.live_confirm_ms < 0:
            raise ValueError("live_confirm_ms must not be negative")
        if not 0 < self.render_lookahead_ms <= 1000:
            raise ValueError("render_lookahead_ms must be in (0, 1000]")
        if self.render_window_ms <= 0 or self.live_window_ms <= 0:
            raise ValueError("render_window_ms and live_window_ms must be positive")
        if not all(0 <= lag < self.live_window_ms for lag in (self.live_peak_lag_ms, self.live_velocity_lag_ms)):
            raise ValueError("the live lags must be within 0 .. live_window_ms")
        if self.live_landing_ahead_ms < 0:
            raise ValueError("live_landing_ahead_ms must not be negative")
        if not 0 < self.stop_hold_ms <= self.render_lookahead_ms:
            raise ValueError("stop_hold_ms must be in (0, render_lookahead_ms]: render sees the hold in its look-ahead")
        if not 0 <= self.ground_from_ms < self.ground_to_ms <= self.render_lookahead_ms:
            raise ValueError("need 0 <= ground_from_ms < ground_to_ms <= render_lookahead_ms")


@dataclass(frozen=True)
class _Pending:
    """Live: a confirmed peak waiting to see its foot land; `event` carries the foot and the fallback contact."""

    t_peak: int
    height: float
    event: StepEvent


@dataclass
class _Track:
    t: deque = field(default_factory=deque)
    points: deque = field(default_factory=deque)  # (4, 3) heels and toes relative to the hips, leg lengths
    direction: deque = field(default_factory=deque)  # (3,) unit direction of travel
    heel_px: deque = field(default_factory=deque)  # (2, 2) screen position of each heel
    vis: deque = field(default_factory=deque)  # (2,) per-foot visibility
    recent: deque = field(default_factory=lambda: deque(maxlen=2))  # the last two frames, legs as corrected
    leg: float = 0.0
    hip_px: np.ndarray | None = None
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    heading: np.ndarray | None = None
    sign: float = 1.0  # +1 while the pelvis facing agrees with the travel on screen
    facing: np.ndarray | None = None  # the pelvis facing, smoothed over facing_time_constant_ms
    last_t: int | None = None
    last_step_t: int | None = None
    foot_step_t: list = field(default_factory=lambda: [None, None])
    gait: str = "walk"
    last_interval: int | None = None  # ns between the last two steps
    count: int = 0
    pending: list[_Pending] = field(default_factory=list)
    peaks_decided_t: int | None = None  # the newest sample already judged as a peak
    closing_decided_t: int | None = None  # ... and as a closing step

    def clear(self) -> None:
        for d in (self.t, self.points, self.direction, self.heel_px, self.vis, self.recent):
            d.clear()
        self.velocity = np.zeros(2)
        self.facing = None
        self.count = 0
        self.pending.clear()
        self.peaks_decided_t = self.closing_decided_t = None

    def buffers(self) -> tuple[deque, ...]:
        return self.t, self.points, self.direction, self.heel_px, self.vis


class StepDetector:
    """Feed PoseSamples in order; each push returns the steps that became certain with that frame."""

    def __init__(self, params: StepParams | None = None) -> None:
        self.params = params or StepParams()
        self._tracks: dict[int, _Track] = {}
        self._frame_ns = 33_333_333
        self._intervals: deque[int] = deque(maxlen=PERIOD_SAMPLES)
        self._frame_size = (1, 1)
        self._last_t: int | None = None

    @property
    def _tolerance_ns(self) -> float:
        """How far past a window's edge a sample still belongs to it: half a frame, and the timestamps' rounding."""
        return self._frame_ns / 2 + TIMESTAMP_SLACK_NS

    def _span(self, t: np.ndarray, c: int, start_ms: float, end_ms: float) -> slice:
        """The samples from `start_ms` to `end_ms` after sample c (negative: before it) on the timestamps `t`."""
        tol = self._tolerance_ns
        lo = int(np.searchsorted(t, t[c] + start_ms * 1e6 - tol, side="left"))
        hi = int(np.searchsorted(t, t[c] + end_ms * 1e6 + tol, side="right"))
        return slice(lo, max(lo, hi))

    def _has_followed(self, t: np.ndarray, c: int, ms: float) -> bool:
        """Whether the sample `ms` after sample c (to the nearest sample, and at least the next one) has come."""
        return c < len(t) - 1 and t[-1] - t[c] > ms * 1e6 - self._tolerance_ns + 2 * TIMESTAMP_SLACK_NS

    def _samples(self, ms: float) -> int:
        """How many samples `ms` spans at the current frame period, to the nearest."""
        return int(round(ms * 1e6 / self._frame_ns))

    def _window(self, live_lag_ms: float) -> tuple[int, int]:
        """(smoothing or velocity window, samples after the estimated one it uses), in samples at the current frame
        period: the window the nearest odd count (at least 3), the lag `live_lag_ms` in live mode (within the
        window), centred in render mode."""
        p = self.params
        window_ms = p.live_window_ms if p.mode == "live" else p.render_window_ms
        window = max(3, 2 * int(np.floor(window_ms * 1e6 / self._frame_ns / 2)) + 1)
        if p.mode == "live":
            return window, min(window - 1, self._samples(live_lag_ms))
        return window, window // 2

    @property
    def _confirm_samples(self) -> int:
        """Live: samples after a peak that must fall below it."""
        return max(1, self._samples(self.params.live_confirm_ms))

    @property
    def _live_lookahead_samples(self) -> int:
        """Live: samples that must follow a peak before it is judged."""
        return self._window(self.params.live_peak_lag_ms)[1] + self._confirm_samples

    def _peak_ready(self, t: np.ndarray, c: int) -> bool:
        """Whether enough samples follow sample c to judge it as a peak: live, a fixed number of samples; render,
        its look-ahead in time."""
        p = self.params
        if p.mode == "live":
            return c <= len(t) - 1 - self._live_lookahead_samples
        return self._has_followed(t, c, p.render_lookahead_ms)

    def _closing_ready(self, t: np.ndarray, c: int) -> bool:
        """Whether sample c can be judged as the start of a closing step's hold: render, when its look-ahead has come
        (which holds the hold); live, as soon as the hold has."""
        p = self.params
        return self._has_followed(t, c, p.render_lookahead_ms if p.mode == "render" else p.stop_hold_ms)

    @staticmethod
    def _undecided(t: np.ndarray, decided_t: int | None) -> int:
        """Index of the oldest sample not judged yet."""
        return 0 if decided_t is None else int(np.searchsorted(t, decided_t, side="right"))

    @property
    def newest_ns(self) -> int | None:
        """The media time of the newest pose pushed (None before the first)."""
        return self._last_t

    def watermark_ns(self) -> int:
        """No step still to come has a contact time before this (for rendering audio ahead)."""
        if self._last_t is None:
            return -(2**62)
        p = self.params
        offset = min(p.live_landing_offset_ms, p.live_predicted_offset_ms) if p.mode == "live" else p.landing_offset_ms
        earliest = min(0.0, p.contact_offset_ms, offset - p.landing_search_before_ms)
        oldest = self._last_t
        for track in self._tracks.values():
            t = np.asarray(track.t, dtype=np.int64)
            for decided in (track.peaks_decided_t, track.closing_decided_t):
                i = self._undecided(t, decided)
                if i < len(t):
                    oldest = min(oldest, int(t[i]))
            for waiting in track.pending:
                oldest = min(oldest, waiting.t_peak)
        return int(oldest - self._frame_ns + earliest * 1e6)  # a peak is placed up to half a frame before its sample

    def push(self, sample: PoseSample) -> list[StepEvent]:
        if self._last_t is not None and sample.t_ns > self._last_t:
            self._intervals.append(sample.t_ns - self._last_t)
            self._frame_ns = int(np.median(self._intervals))
        self._last_t = sample.t_ns
        self._frame_size = (sample.width, sample.height)
        events: list[StepEvent] = []
        seen = set()
        for person in sample.persons:
            seen.add(person.track_id)
            track = self._tracks.setdefault(person.track_id, _Track())
            events.extend(self._push_person(track, person, sample))
        gap = self.params.max_gap_ms * 1e6
        for tid in [t for t, tr in self._tracks.items() if t not in seen and tr.last_t is not None
                    and sample.t_ns - tr.last_t > gap]:
            del self._tracks[tid]  # its undecided peaks go too: a person lost mid-step is no evidence of a landing
        return events

    def flush(self) -> list[StepEvent]:
        """End of stream: nothing more will come, so peaks still waiting for look-ahead are decided now."""
        events: list[StepEvent] = []
        for tid, track in self._tracks.items():
            if track.t:
                events.extend(self._finish(track, tid, track.t[-1]))
        self._tracks.clear()
        return events

    def _finish(self, track: _Track, track_id: int, now_ns: int) -> list[StepEvent]:
        """A track's last steps, decided with what it has: the peaks within the look-ahead, the landings waiting."""
        events = []
        t = np.asarray(track.t, dtype=np.int64)
        for centre in range(self._undecided(t, track.peaks_decided_t), len(t)):
            events.extend(self._decide(track, track_id, now_ns, centre))
        if self.params.mode == "live":
            events.extend(self._resolve_pending(track, now_ns, final=True))
        return events

    def _push_person(self, track: _Track, person, sample: PoseSample) -> list[StepEvent]:
        p = self.params
        if track.last_t is not None and sample.t_ns - track.last_t > p.max_gap_ms * 1e6:
            track.clear()
        frame = body_frame(person, sample.width, sample.height, p.use_depth)
        if frame.leg_px <= 1.0:
            return []
        if len(track.recent) == 2 and legs_swapped(track.recent[0], track.recent[1], frame, p.swap_ratio):
            frame = frame.swapped()
        track.recent.append(frame)
        track.leg = frame.leg_px if track.count == 0 else 0.9 * track.leg + 0.1 * frame.leg_px
        frame = frame.in_legs_of(track.leg)
        direction = self._direction(track, frame, sample.t_ns)
        track.last_t = sample.t_ns
        track.count += 1
        if direction is None:
            return []
        track.t.append(sample.t_ns)
        track.points.append(frame.points)
        track.direction.append(direction)
        track.heel_px.append(np.stack([frame.heel_px(0), frame.heel_px(1)]))
        track.vis.append(np.array(frame.foot_visibility))
        ahead_ns = (p.render_lookahead_ms * 1e6 if p.mode == "render"
                    else self._live_lookahead_samples * self._frame_ns)
        keep_ns = ahead_ns + max(p.prominence_window_ms, p.landing_search_before_ms + p.ground_to_ms
                                 + p.ground_window_ms) * 1e6 + 4 * self._frame_ns
        while len(track.t) > 2 and track.t[-1] - track.t[0] > keep_ns:
            for d in track.buffers():
                d.popleft()
        t = np.asarray(track.t, dtype=np.int64)
        events = []
        c = self._undecided(t, track.peaks_decided_t)
        while c < len(t) and self._peak_ready(t, c):
            events.extend(self._decide(track, person.track_id, sample.t_ns, c))
            track.peaks_decided_t = int(t[c])
            c += 1
        c = self._undecided(t, track.closing_decided_t)
        while c < len(t) and self._closing_ready(t, c):
            events.extend(self._decide_closing(track, person.track_id, sample.t_ns, c))
            track.closing_decided_t = int(t[c])
            c += 1
        if p.mode == "live":
            events.extend(self._resolve_pending(track, sample.t_ns))
        return events

    def _direction(self, track: _Track, frame: BodyFrame, t_ns: int) -> np.ndarray | None:
        """Where the person goes: the pelvis' facing (3-D, from world landmarks) turned to agree with the travel on
        screen; without world landmarks, the travel on screen, or where the feet point when standing still."""
        p = self.params
        if track.count > 0 and track.hip_px is not None and track.last_t is not None and t_ns > track.last_t:
            dt = (t_ns - track.last_t) / 1e9
            a = 1 - np.exp(-dt * 1000 / p.direction_time_constant_ms)
            track.velocity = (1 - a) * track.velocity + a * (frame.hip_px - track.hip_px) / dt / track.leg
        track.hip_px = frame.hip_px
        moving = float(np.linalg.norm(track.velocity)) > p.travel_speed_legs_per_s and track.count > 3
        if frame.facing is not None:
            facing = frame.facing
            if p.facing_time_constant_ms > 0 and track.facing is not None and track.last_t is not None:
                a = 1 - np.exp(-max(0, t_ns - track.last_t) / 1e6 / p.facing_time_constant_ms)
                blended = track.facing + a * (facing - track.facing)
                norm = float(np.linalg.norm(blended))
                facing = blended / norm if norm > 1e-9 else facing
            track.facing = facing
            if moving and abs(track.velocity[0]) > p.travel_speed_legs_per_s and abs(facing[0]) > 0.4:
                track.sign = 1.0 if facing[0] * track.velocity[0] >= 0 else -1.0
            return track.sign * facing
        if moving:
            track.heading = np.append(track.velocity / np.linalg.norm(track.velocity), 0.0)
        else:
            facing = screen_facing(frame)
            norm = float(np.linalg.norm(facing))
            if norm > 0.1:
                facing = facing / norm
                blended = facing if track.heading is None else 0.9 * track.heading + 0.1 * facing
                track.heading = blended / max(1e-9, float(np.linalg.norm(blended)))
        return track.heading

    def _envelope(self, track: _Track) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, leading-heel envelope, leading foot) over the buffer; -inf where the leading foot is unseen."""
        p = self.params
        points = smooth(np.array(track.points), *self._window(p.live_peak_lag_ms))
        direction = np.array(track.direction)
        lead = np.stack([np.einsum("nk,nk->n", points[:, HEEL_L], direction),
                         np.einsum("nk,nk->n", points[:, HEEL_R], direction)], axis=1)
        foot = np.argmax(lead, axis=1)
        env = lead[np.arange(lead.shape[0]), foot]
        vis = np.array(track.vis)[np.arange(lead.shape[0]), foot]
        env[vis < p.min_visibility] = -np.inf
        return np.array(track.t, dtype=np.int64), env, foot

    def _decide(self, track: _Track, track_id: int, now_ns: int, centre: int) -> list[StepEvent]:
        """Whether the envelope peaks at `centre`; a step's event once its contact is placed (render), or a pending
        step that waits for its landing (live)."""
        p = self.params
        c = centre
        if c < 1 or c >= len(track.t) - 1:
            return []
        t, env, foot = self._envelope(track)
        peak = env[c]
        if not np.isfinite(peak):
            return []
        before = env[self._span(t, c, -p.peak_window_ms, 0).start:c]
        if p.mode == "live":
            after = env[c + 1:c + 1 + self._confirm_samples]
        else:
            after = env[c + 1:self._span(t, c, 0, min(p.render_lookahead_ms, p.peak_window_ms)).stop]
        if np.any(after >= peak) or np.any(before > peak):
            return []
        earlier = env[self._span(t, c, -p.prominence_window_ms, 0).start:c]
        earlier = earlier[np.isfinite(earlier)]
        if earlier.size == 0:
            return []
        prominence = peak - earlier.min()
        if prominence < p.prominence_legs:
            return []
        delta = 0.0
        if np.isfinite(env[c - 1]) and np.isfinite(env[c + 1]):
            denom = env[c - 1] - 2 * peak + env[c + 1]
            if denom < 0:
                delta = float(np.clip(0.5 * (env[c - 1] - env[c + 1]) / denom, -0.5, 0.5))
        t_peak = int(round(t[c] + delta * (t[c + 1] - t[c] if delta > 0 else t[c] - t[c - 1])))
        lead = int(foot[c])
        event = self._event(track, track_id, c, lead, t_peak + int(round(p.contact_offset_ms * 1e6)), prominence,
                            now_ns)
        if p.mode == "live" and p.live_predict:
            return self._emit(track, event, event.t_ns, now_ns)
        if p.mode == "live":
            apart = [w for w in track.pending if t_peak - w.t_peak >= p.min_step_interval_ms * 1e6]
            if len(apart) < len(track.pending) and max(w.height for w in track.pending if w not in apart) >= peak:
                return []  # the same step, already waiting with a higher peak
            track.pending = apart + [_Pending(t_peak, float(peak), event)]
            return []
        landed = self._landing_ns(track, c, lead)
        return self._emit(track, event, landed if landed is not None else event.t_ns, now_ns)

    def _decide_closing(self, track: _Track, track_id: int, now_ns: int, c: int) -> list[StepEvent]:
        """Whether a foot that never led came to rest beside the other at `c` (closing_step), seen for
        `stop_hold_ms` (at least one sample): the last step of a stop, timed at its first still sample."""
        p = self.params
        t = np.asarray(track.t, dtype=np.int64)
        end = max(c + 2, self._span(t, c, 0, p.stop_hold_ms).stop)  # the hold's samples, c included
        if c < 1 or end > len(t):
            return []
        lo = self._span(t, c, -p.prominence_window_ms, 0).start
        if np.any(np.array(track.vis)[c - 1:end] < p.min_visibility):
            return []
        points = smooth(np.array(track.points)[lo:end], *self._window(p.live_peak_lag_ms))
        lead = points[:, [HEEL_L, HEEL_R]] @ np.asarray(track.direction[c])
        found = closing_foot(lead, points[:, [HEEL_L, HEEL_R], 1], c - lo, p.prominence_legs, p.stop_still_legs,
                             p.stop_level_legs)
        if found is None:
            return []
        foot, rise, low = found
        since, name = track.t[lo + low], ("left", "right")[foot]
        if ((track.foot_step_t[foot] is not None and track.foot_step_t[foot] >= since)
                or any(w.event.foot == name and w.t_peak >= since for w in track.pending)):
            return []  # its step was found already
        return self._emit(track, self._event(track, track_id, c, foot, track.t[c], rise, now_ns), track.t[c], now_ns)

    def _emit(self, track: _Track, event: StepEvent, contact: int, now_ns: int) -> list[StepEvent]:
        if track.last_step_t is not None and contact - track.last_step_t < self.params.min_step_interval_ms * 1e6:
            return []
        track.gait = self._gait(track, contact)
        track.last_step_t = contact
        track.foot_step_t[0 if event.foot == "left" else 1] = contact
        return [replace(event, t_ns=contact, delay_ns=int(max(0, now_ns - contact)), gait=track.gait)]

    def _gait(self, track: _Track, contact: int) -> str:
        """Running cadence: this step and the one before each followed the previous within run_interval_ms (one short
        interval is no run: a walker's closing step comes that soon); a run stays a run across one missed step
        (twice that). A track's first two steps are walks."""
        interval = None if track.last_step_t is None else contact - track.last_step_t
        before, track.last_interval = track.last_interval, interval
        limit = self.params.run_interval_ms * 1e6
        if interval is None:
            return "walk"
        if track.gait == "run":
            return "run" if interval < 2 * limit else "walk"
        return "run" if interval < limit and before is not None and before < limit else "walk"

    def _foot_velocities(self, track: _Track) -> np.ndarray:
        """(n, 4, 3) velocities of heels and toes relative to the hips, legs per second, in the mode's window."""
        window, lag = self._window(self.params.live_velocity_lag_ms)
        v = velocity_on_times(np.array(track.points), np.asarray(track.t, dtype=np.int64), window, lag)
        return damp_lateral(v, np.array(track.direction), self.params.lateral_weight)

    def _landing_ns(self, track: _Track, c: int, lead: int) -> int | None:
        """Render: the landing near the peak at `c`, against the ground's velocity measured twice, on the landed foot
        after the peak and on the stance foot before it; their mean halves what either's noise does to the timing."""
        p = self.params
        v = self._foot_velocities(track)
        heel, toe = (HEEL_L, TOE_L) if lead == 0 else (HEEL_R, TOE_R)
        if not np.all(np.isfinite(v[c, [heel, toe]])):
            return None  # the track began at this step: its foot was not seen coming down
        t = np.asarray(track.t, dtype=np.int64)
        landed = landed_foot_ground(v[:, heel], v[:, toe], self._span(t, c, p.ground_from_ms, p.ground_to_ms))
        stance = self._stance_ground(track, v, self._span(t, c, p.render_stance_until_ms - p.ground_window_ms,
                                                          p.render_stance_until_ms))
        known = [g for g in (landed, stance) if g is not None]
        if not known:
            return None
        ground = np.mean(known, axis=0)
        search = self._span(t, c, -p.landing_search_before_ms, p.ground_to_ms)
        return self._landing_time(t,
                                  landing_index(v[:, heel], v[:, toe], ground, search, p.landing_speed_legs_per_s),
                                  p.landing_offset_ms)

    def _resolve_pending(self, track: _Track, now_ns: int, final: bool = False) -> list[StepEvent]:
        """Live: each waiting step is emitted once its foot is seen to land (against the ground's velocity from the
        recent past), or `contact_offset_ms` after its peak once the landing is overdue or the stream ends."""
        if not track.pending:
            return []
        p = self.params
        t = np.array(track.t, dtype=np.int64)
        v = self._foot_velocities(track)
        last = len(t) - 1 - self._window(p.live_velocity_lag_ms)[1]  # the newest sample with a velocity
        ground = self._stance_ground(track, v, self._span(t, max(last, 0), -p.ground_window_ms, 0)) if last >= 0 else None
        events, still = [], []
        for waiting in track.pending:
            t_peak, event = waiting.t_peak, waiting.event
            heel, toe = (HEEL_L, TOE_L) if event.foot == "left" else (HEEL_R, TOE_R)
            landed = None
            at_peak = max(0, int(np.searchsorted(t, t_peak, side="right")) - 1)
            if last >= at_peak and not np.all(np.isfinite(v[at_peak, [heel, toe]])):
                events.extend(self._emit(track, event, event.t_ns, now_ns))  # not seen coming down: no landing
                continue
            if ground is not None and last > 0:
                start = int(np.searchsorted(t, t_peak - p.landing_search_before_ms * 1e6))
                stop = min(last + 1, int(np.searchsorted(t, t_peak + p.live_landing_after_ms * 1e6, side="right")))
                x = landing_index(v[:, heel], v[:, toe], ground, slice(start, stop), p.landing_speed_legs_per_s)
                landed = self._landing_time(t, x, p.live_landing_offset_ms)
                if landed is None and t[last] < t_peak + p.live_landing_after_ms * 1e6:
                    x = landing_ahead(v[:, heel], v[:, toe], ground, last, p.landing_speed_legs_per_s,
                                      p.live_landing_ahead_ms * 1e6 / self._frame_ns)
                    landed = self._landing_time(t, x, p.live_predicted_offset_ms)
            if landed is not None:
                events.extend(self._emit(track, event, landed, now_ns))
            elif final or last < 0 or t[max(last, 0)] >= t_peak + p.live_landing_after_ms * 1e6:
                events.extend(self._emit(track, event, event.t_ns, now_ns))
            else:
                still.append(waiting)
        track.pending = still
        return events

    def _stance_ground(self, track: _Track, v: np.ndarray, window: slice) -> np.ndarray | None:
        """The ground's velocity from the foot that was on it during `window` (see `stance_foot_ground`)."""
        feet = 0.5 * (v[:, [HEEL_L, HEEL_R]] + v[:, [TOE_L, TOE_R]])
        return stance_foot_ground(feet[window], np.array(track.direction)[window])

    def _landing_time(self, t: np.ndarray, x: float | None, offset_ms: float) -> int | None:
        """Media time of the sub-sample index x (past the newest sample at the frame rate), calibrated by `offset_ms`
        to the first frame of contact."""
        if x is None:
            return None
        i = int(np.floor(x))
        step = t[i + 1] - t[i] if i + 1 < len(t) else self._frame_ns
        return int(round(t[i] + (x - i) * step + offset_ms * 1e6))

    def _event(self, track: _Track, track_id: int, c: int, lead: int, contact: int, prominence: float,
               now_ns: int) -> StepEvent:
        p = self.params
        width, height = self._frame_size
        heel = track.heel_px[c][lead]
        prev_heel = track.heel_px[max(0, c - 2)][lead]
        dt = max(1e-9, (track.t[c] - track.t[max(0, c - 2)]) / 1e9)
        heel_speed = float(np.linalg.norm(heel - prev_heel)) / track.leg / dt
        intensity = float(1 - np.exp(-heel_speed / p.intensity_speed_legs_per_s))
        depth = p.reference_leg_fraction / max(1e-3, track.leg / height)
        confidence = float(np.clip(track.vis[c][lead], 0, 1) * min(1.0, prominence / (2 * p.prominence_legs)))
        return StepEvent(
            t_ns=contact,
            track_id=track_id,
            foot="left" if lead == 0 else "right",
            x=float(np.clip(heel[0] / width, 0, 1)),
            y=float(np.clip(heel[1] / height, 0, 1)),
            depth=float(depth),
            intensity=float(np.clip(intensity, 0.05, 1.0)),
            confidence=confidence,
            delay_ns=int(max(0, now_ns - contact)),
        )
