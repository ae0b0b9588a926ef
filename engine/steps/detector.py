"""Online heel-strike detection: PoseSamples in, StepEvents out, with a known, bounded delay.

Each person's leading-heel envelope (see gait_signal) peaks at every heel strike. `live` mode filters it causally
(One-Euro) and confirms a peak as soon as `live_confirm_frames` later samples fall below it; `render` mode waits up
to `render_lookahead_ms` to smooth the envelope symmetrically and place the peak more exactly. Both refine the peak
to sub-frame time by parabolic interpolation and shift it by `contact_offset_ms`, the calibration from "heel most
forward" to the stated definition of contact (first heel touch).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from footfall.engine.messages import PoseSample, StepEvent
from footfall.engine.steps.gait_signal import (HEEL_L_X, HEEL_L_Y, HEEL_R_X, HEEL_R_Y, HIP_X, HIP_Y, facing_direction,
                                               forward_distances, gait_frame)
from footfall.engine.steps.one_euro import OneEuroFilter, OneEuroParams


@dataclass(frozen=True)
class StepParams:
    mode: Literal["live", "render"] = "render"
    live_confirm_frames: int = 1  # samples after a peak that must fall below it (live)
    render_lookahead_ms: float = 200.0  # how far render mode may look ahead of a peak
    render_smoothing_frames: float = 1.0  # Gaussian sigma of render mode's symmetric smoothing
    prominence_legs: float = 0.2  # a peak must rise this far (in leg lengths) above the recent trough
    prominence_window_ms: float = 700.0
    min_step_interval_ms: float = 250.0  # two steps closer than this are one
    min_visibility: float = 0.35  # feet less visible than this make no steps
    travel_speed_legs_per_s: float = 0.5  # slower than this, the direction comes from where the feet point
    direction_time_constant_ms: float = 400.0
    contact_offset_ms: float = 25.0  # added to the peak time
    filter_min_cutoff_hz: float = 3.0
    filter_beta: float = 0.3
    max_gap_ms: float = 300.0  # a person unseen this long starts afresh
    reference_leg_fraction: float = 0.3  # leg length / frame height at depth 1.0
    intensity_speed_legs_per_s: float = 4.0  # heel speed before contact that maps to intensity ~0.63

    def __post_init__(self) -> None:
        if self.mode not in ("live", "render"):
            raise ValueError(f"mode must be live or render, not {self.mode!r}")
        if self.live_confirm_frames < 1:
            raise ValueError("live_confirm_frames must be at least 1")
        if not 0 < self.render_lookahead_ms <= 1000:
            raise ValueError("render_lookahead_ms must be in (0, 1000]")


@dataclass
class _Track:
    filt: OneEuroFilter
    t: deque = field(default_factory=deque)
    env: deque = field(default_factory=deque)  # leading-heel envelope (filtered in live, raw in render)
    lead: deque = field(default_factory=deque)  # 0 left, 1 right
    heel: deque = field(default_factory=deque)  # (x_px, y_px) of the leading heel
    vis: deque = field(default_factory=deque)
    leg: float = 0.0
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    direction: np.ndarray | None = None
    prev_mid: np.ndarray | None = None
    last_t: int | None = None
    last_step_t: int | None = None
    last_peak_index: int = -1  # absolute sample counter of the last emitted peak
    count: int = 0  # samples pushed since the last reset

    def clear(self) -> None:
        for d in (self.t, self.env, self.lead, self.heel, self.vis):
            d.clear()
        self.filt.reset()
        self.velocity = np.zeros(2)
        self.prev_mid = None
        self.count = 0
        self.last_peak_index = -1


class StepDetector:
    """Feed PoseSamples in order; each push returns the steps that became certain with that frame."""

    def __init__(self, params: StepParams | None = None) -> None:
        self.params = params or StepParams()
        self._tracks: dict[int, _Track] = {}
        self._frame_ns = 33_333_333
        self._frame_size = (1, 1)
        self._last_t: int | None = None

    @property
    def lookahead_frames(self) -> int:
        p = self.params
        if p.mode == "live":
            return p.live_confirm_frames
        return max(1, int(round(p.render_lookahead_ms * 1e6 / self._frame_ns)))

    def watermark_ns(self) -> int:
        """No step still to come has a contact time before this (for rendering audio ahead)."""
        if self._last_t is None:
            return -(2**62)
        p = self.params
        back = (self.lookahead_frames + 1) * self._frame_ns - min(0.0, p.contact_offset_ms) * 1e6
        return int(self._last_t - back)

    def push(self, sample: PoseSample) -> list[StepEvent]:
        if self._last_t is not None and sample.t_ns > self._last_t:
            dt = sample.t_ns - self._last_t
            self._frame_ns = int(0.8 * self._frame_ns + 0.2 * dt) if self._tracks else dt
        self._last_t = sample.t_ns
        self._frame_size = (sample.width, sample.height)
        events: list[StepEvent] = []
        seen = set()
        for person in sample.persons:
            seen.add(person.track_id)
            track = self._tracks.get(person.track_id)
            if track is None:
                track = self._tracks[person.track_id] = _Track(
                    OneEuroFilter(OneEuroParams(self.params.filter_min_cutoff_hz, self.params.filter_beta)))
            events.extend(self._push_person(track, person, sample))
        gap = self.params.max_gap_ms * 1e6
        for tid in [t for t, tr in self._tracks.items() if t not in seen and tr.last_t is not None
                    and sample.t_ns - tr.last_t > gap]:
            del self._tracks[tid]
        return events

    def flush(self) -> list[StepEvent]:
        """End of stream: nothing more will come, so peaks still waiting for look-ahead are decided now."""
        events: list[StepEvent] = []
        for tid, track in self._tracks.items():
            for _ in range(self.lookahead_frames):
                if len(track.env) == 0:
                    break
                track.t.append(track.t[-1] + self._frame_ns)
                track.env.append(-np.inf)
                track.lead.append(track.lead[-1])
                track.heel.append(track.heel[-1])
                track.vis.append(track.vis[-1])
                track.count += 1
                ev = self._decide(track, tid, track.t[-2] if len(track.t) > 1 else track.t[-1])
                if ev is not None:
                    events.append(ev)
        self._tracks.clear()
        return events

    def _push_person(self, track: _Track, person, sample: PoseSample) -> list[StepEvent]:
        p = self.params
        if track.last_t is not None and sample.t_ns - track.last_t > p.max_gap_ms * 1e6:
            track.clear()
        g = gait_frame(person, sample.width, sample.height)
        if g.leg_px <= 1.0:
            return []
        track.leg = g.leg_px if track.count == 0 else 0.9 * track.leg + 0.1 * g.leg_px
        filtered = track.filt(sample.t_ns, g.features)
        mid = filtered[[HIP_X, HIP_Y]]
        if track.prev_mid is not None and track.last_t is not None and sample.t_ns > track.last_t:
            dt = (sample.t_ns - track.last_t) / 1e9
            a = 1 - np.exp(-dt * 1000 / p.direction_time_constant_ms)
            track.velocity = (1 - a) * track.velocity + a * (mid - track.prev_mid) / dt
        track.prev_mid = mid
        track.last_t = sample.t_ns
        speed = float(np.linalg.norm(track.velocity)) / track.leg
        if speed > p.travel_speed_legs_per_s and track.count > 3:
            track.direction = track.velocity / np.linalg.norm(track.velocity)
        else:
            facing = facing_direction(filtered)
            norm = float(np.linalg.norm(facing))
            if norm > 0.1 * track.leg:
                facing = facing / norm
                blended = facing if track.direction is None else 0.9 * track.direction + 0.1 * facing
                track.direction = blended / max(1e-9, float(np.linalg.norm(blended)))
        track.count += 1
        if track.direction is None:
            return []
        source = filtered if p.mode == "live" else g.features
        fl, fr = forward_distances(source, track.direction, track.leg)
        lead = 0 if fl >= fr else 1
        vis = g.foot_visibility[lead]
        env = max(fl, fr) if vis >= p.min_visibility else -np.inf
        heel = source[[HEEL_L_X, HEEL_L_Y]] if lead == 0 else source[[HEEL_R_X, HEEL_R_Y]]
        track.t.append(sample.t_ns)
        track.env.append(env)
        track.lead.append(lead)
        track.heel.append(heel)
        track.vis.append(vis)
        keep = self.lookahead_frames + int(p.prominence_window_ms * 1e6 / self._frame_ns) + 4
        while len(track.t) > keep:
            for d in (track.t, track.env, track.lead, track.heel, track.vis):
                d.popleft()
        ev = self._decide(track, person.track_id, sample.t_ns)
        return [ev] if ev is not None else []

    def _decide(self, track: _Track, track_id: int, now_ns: int) -> StepEvent | None:
        p = self.params
        k = self.lookahead_frames
        n = len(track.env)
        c = n - 1 - k
        if c < 1:
            return None
        env = np.array(track.env, dtype=np.float64)
        if p.mode == "render" and p.render_smoothing_frames > 0:
            env = _smooth(env, p.render_smoothing_frames)
        peak = env[c]
        if not np.isfinite(peak):
            return None
        after = env[c + 1:]
        before = env[max(0, c - k):c]
        if np.any(after >= peak) or np.any(before > peak):
            return None
        window = int(p.prominence_window_ms * 1e6 / self._frame_ns)
        trough = np.min(env[max(0, c - window):c])
        if not np.isfinite(trough):
            finite = env[max(0, c - window):c][np.isfinite(env[max(0, c - window):c])]
            if finite.size == 0:
                return None
            trough = finite.min()
        prominence = peak - trough
        if prominence < p.prominence_legs:
            return None
        delta = 0.0
        if np.isfinite(env[c - 1]) and np.isfinite(env[c + 1]):
            denom = env[c - 1] - 2 * peak + env[c + 1]
            if denom < 0:
                delta = float(np.clip(0.5 * (env[c - 1] - env[c + 1]) / denom, -0.5, 0.5))
        t_c = track.t[c]
        t_peak = t_c + delta * (track.t[c + 1] - t_c if delta > 0 else t_c - track.t[c - 1])
        contact = int(round(t_peak + p.contact_offset_ms * 1e6))
        if track.last_step_t is not None and contact - track.last_step_t < p.min_step_interval_ms * 1e6:
            return None
        track.last_step_t = contact
        heel = track.heel[c]
        width, height = self._frame_size
        prev_heel = track.heel[c - 2] if c >= 2 else track.heel[c - 1]
        heel_speed = float(np.linalg.norm(np.asarray(heel) - np.asarray(prev_heel))) / track.leg
        heel_speed /= max(1e-9, (track.t[c] - track.t[max(0, c - 2)]) / 1e9)
        intensity = float(1 - np.exp(-heel_speed / p.intensity_speed_legs_per_s))
        depth = p.reference_leg_fraction / max(1e-3, track.leg / height)
        confidence = float(np.clip(track.vis[c], 0, 1) * min(1.0, prominence / (2 * p.prominence_legs)))
        return StepEvent(
            t_ns=contact,
            track_id=track_id,
            foot="left" if track.lead[c] == 0 else "right",
            x=float(np.clip(heel[0] / width, 0, 1)),
            y=float(np.clip(heel[1] / height, 0, 1)),
            depth=float(depth),
            intensity=float(np.clip(intensity, 0.05, 1.0)),
            confidence=confidence,
            delay_ns=int(max(0, now_ns - contact)),
        )


def _smooth(env: np.ndarray, sigma: float) -> np.ndarray:
    """Symmetric Gaussian smoothing that leaves -inf (foot unseen) samples unseen."""
    radius = int(np.ceil(2 * sigma))
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    finite = np.isfinite(env)
    vals = np.where(finite, env, 0.0)
    n = env.shape[0]
    num = np.convolve(vals, taps)[radius:radius + n]
    den = np.convolve(finite.astype(np.float64), taps)[radius:radius + n]
    out = np.where(finite & (den > 0), num / np.maximum(den, 1e-12), -np.inf)
    return out
