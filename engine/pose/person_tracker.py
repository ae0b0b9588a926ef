"""Stable person ids across frames for pose estimators that report people in no particular order.

Each frame's persons are matched to the live tracks by the Hungarian method on a cost built from where the hips are
against where the track's constant-velocity motion predicts them, in units of the person's torso length (so the same
cost means the same thing near and far from the camera), plus how much the torso length changed. Pairs beyond the
gate never match; the gate widens the longer a track goes unseen, and motion is extrapolated only a short way (a
standing person's jittery landmarks make a velocity that is mostly noise). A new person becomes a track (and gets
an id) only once seen on `birth_frames` consecutive frames, so a one-frame false detection never reaches step
detection (offline, the frames that confirmed it are held back and name it too, so its first steps are not lost);
a track dies after `death_ms` unseen; ids are never reused. Pure and synchronous: it runs in the parent on the ordered stream, since each pose worker sees every Nth
frame only.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace

import numpy as np

from footfall.engine.messages import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER, PersonPose, PoseSample

NS_PER_MS = 1_000_000
_NO_MATCH = 1e9


@dataclass(frozen=True)
class PersonTrackerParams:
    birth_frames: int = 3  # consecutive frames a new person must be seen before getting an id
    death_ms: float = 500.0  # a track unseen for longer than this ends; whoever appears later gets a new id
    max_distance: float = 1.0  # gate: hip distance from the prediction, in torso lengths
    gate_growth: float = 0.5  # the gate widens by this many torso lengths per second a track goes unseen
    max_extrapolation_ms: float = 200.0  # motion is extrapolated at most this far past the last sighting
    max_speed: float = 8.0  # torso lengths per second (a sprint); faster measured motion is landmark noise
    max_scale_ratio: float = 1.6  # gate: torso length may change at most by this factor between sightings
    scale_weight: float = 1.0  # cost of a torso-length change (per unit of |log ratio|) against distance
    velocity_tau_ms: float = 200.0  # time constant of the velocity estimate (frame-rate independent)
    scale_tau_ms: float = 100.0  # time constant of the torso length estimate
    duplicate_distance: float = 0.25  # two persons of alike size whose hips are closer (torso lengths) are one

    def __post_init__(self) -> None:
        if self.birth_frames < 1:
            raise ValueError("birth_frames must be at least 1")
        if self.death_ms < 0:
            raise ValueError("death_ms must not be negative")
        if self.max_distance <= 0 or self.max_scale_ratio <= 1.0:
            raise ValueError("max_distance must be positive and max_scale_ratio above 1")
        if self.gate_growth < 0 or self.max_extrapolation_ms < 0:
            raise ValueError("gate_growth and max_extrapolation_ms must not be negative")
        if self.velocity_tau_ms < 0 or self.scale_tau_ms < 0 or self.max_speed < 0:
            raise ValueError("velocity_tau_ms, scale_tau_ms and max_speed must not be negative")
        if self.duplicate_distance < 0:
            raise ValueError("duplicate_distance must not be negative")


def body_anchor(landmarks: np.ndarray, width: int, height: int) -> tuple[np.ndarray, float]:
    """Hip midpoint in pixels and torso length (shoulder midpoint to hip midpoint) in pixels.

    Pixels, not normalised coordinates, so distances are the same horizontally and vertically. The torso length
    is floored at 1 % of the frame's larger side so a degenerate pose can't make every distance huge.
    """
    size = np.array((width, height), dtype=np.float64)
    hip = (landmarks[LEFT_HIP, :2] + landmarks[RIGHT_HIP, :2]).astype(np.float64) * 0.5 * size
    shoulder = (landmarks[LEFT_SHOULDER, :2] + landmarks[RIGHT_SHOULDER, :2]).astype(np.float64) * 0.5 * size
    torso = float(np.hypot(*(shoulder - hip)))
    return hip, max(torso, 0.01 * float(max(width, height)))


@dataclass
class _Track:
    position: np.ndarray  # hip midpoint, pixels
    scale: float  # torso length, pixels
    last_ns: int
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))  # pixels per second
    hits: int = 1
    track_id: int | None = None  # set when the track is born

    def predict(self, t_ns: int, max_extrapolation_ns: float) -> np.ndarray:
        return self.position + self.velocity * (min(t_ns - self.last_ns, max_extrapolation_ns) / 1e9)


class PersonTracker:
    """`update(sample)` returns the sample with confirmed tracks' ids filled in and unconfirmed persons left out (live:
    a newcomer appears once confirmed). Offline, `push(sample)` and `flush()` give the same samples `birth_frames - 1`
    frames later, in which a newcomer appears from its first frame: the frames that confirmed it are still held."""

    def __init__(self, params: PersonTrackerParams | None = None) -> None:
        self.params = params or PersonTrackerParams()
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._last_ns: int | None = None
        self._held: deque[tuple[PoseSample, list[tuple[_Track, PersonPose]]]] = deque()

    def update(self, sample: PoseSample) -> PoseSample:
        return self._named(sample, self._observe_frame(sample))

    def push(self, sample: PoseSample) -> list[PoseSample]:
        """The samples that are final now: each names every person whose track was confirmed by then."""
        self._held.append((sample, self._observe_frame(sample)))
        out = []
        while len(self._held) > self.params.birth_frames - 1:
            out.append(self._named(*self._held.popleft()))
        return out

    def flush(self) -> list[PoseSample]:
        """The end of the stream: the samples still held."""
        out = [self._named(*held) for held in self._held]
        self._held.clear()
        return out

    @staticmethod
    def _named(sample: PoseSample, reported: list[tuple[_Track, PersonPose]]) -> PoseSample:
        out = [replace(person, track_id=tr.track_id) for tr, person in reported if tr.track_id is not None]
        out.sort(key=lambda p: p.track_id)
        return replace(sample, persons=tuple(out))

    def _observe_frame(self, sample: PoseSample) -> list[tuple[_Track, PersonPose]]:
        """Matches the frame's persons to the tracks, starts and confirms tracks; every (track, person) seen."""
        if self._last_ns is not None and sample.t_ns <= self._last_ns:
            raise ValueError(f"frame {sample.frame_index}: time {sample.t_ns} ns does not follow {self._last_ns} ns")
        self._last_ns = sample.t_ns
        t = sample.t_ns
        persons = sample.persons
        anchors = [body_anchor(p.landmarks, sample.width, sample.height) for p in persons]
        keep = self._distinct(persons, anchors)
        persons = [persons[i] for i in keep]
        anchors = [anchors[i] for i in keep]

        confirmed = [k for k, tr in enumerate(self._tracks) if tr.track_id is not None]
        tentative = [k for k, tr in enumerate(self._tracks) if tr.track_id is None]
        matches = self._match(confirmed, list(range(len(persons))), anchors, t)
        taken = {d for _, d in matches}
        matches += self._match(tentative, [d for d in range(len(persons)) if d not in taken], anchors, t)
        matched_tracks = {k for k, _ in matches}
        matched_dets = {d for _, d in matches}

        death_ns = self.params.death_ms * NS_PER_MS
        survivors = [tr for k, tr in enumerate(self._tracks)
                     if k in matched_tracks or (tr.track_id is not None and t - tr.last_ns <= death_ns)]
        reported = []  # (track, person) for every track matched or started this frame
        for k, d in matches:
            self._observe(self._tracks[k], anchors[d], t)
            reported.append((self._tracks[k], persons[d]))
        for d in range(len(persons)):
            if d not in matched_dets:
                track = _Track(*anchors[d], t)
                survivors.append(track)
                reported.append((track, persons[d]))
        # Ids go to the tracks born this frame from left to right, so they don't depend on the input order.
        born = sorted((tr for tr, _ in reported if tr.track_id is None and tr.hits >= self.params.birth_frames),
                      key=lambda tr: (tr.position[0], tr.position[1]))
        for tr in born:
            tr.track_id = self._next_id
            self._next_id += 1
        self._tracks = survivors
        return reported

    @property
    def live_ids(self) -> tuple[int, ...]:
        """Ids of the tracks alive now (seen, or unseen for less than the death time)."""
        return tuple(sorted(tr.track_id for tr in self._tracks if tr.track_id is not None))

    def _distinct(self, persons, anchors) -> list[int]:
        """Indices of the persons to keep: of two alike ones on top of each other, the one with the more visible body."""
        max_log_scale = math.log(self.params.max_scale_ratio)

        def same(i: int, j: int) -> bool:
            (pi, si), (pj, sj) = anchors[i], anchors[j]
            close = np.hypot(*(pi - pj)) <= self.params.duplicate_distance * max(si, sj)
            return bool(close and abs(math.log(si / sj)) <= max_log_scale)

        order = sorted(range(len(persons)), key=lambda i: -float(persons[i].landmarks[:, 3].sum()))
        kept: list[int] = []
        for i in order:
            if not any(same(i, j) for j in kept):
                kept.append(i)
        return sorted(kept)

    def _match(self, tracks: list[int], dets: list[int], anchors, t_ns: int) -> list[tuple[int, int]]:
        if not tracks or not dets:
            return []
        from scipy.optimize import linear_sum_assignment  # here: importing scipy.optimize takes most of a second

        p = self.params
        max_log_scale = math.log(p.max_scale_ratio)
        cost = np.full((len(tracks), len(dets)), _NO_MATCH)
        for a, k in enumerate(tracks):
            tr = self._tracks[k]
            predicted = tr.predict(t_ns, p.max_extrapolation_ms * NS_PER_MS)
            gate = p.max_distance + p.gate_growth * (t_ns - tr.last_ns) / 1e9
            for b, d in enumerate(dets):
                pos, scale = anchors[d]
                distance = float(np.hypot(*(pos - predicted))) / (0.5 * (scale + tr.scale))
                log_scale = abs(math.log(scale / tr.scale))
                if distance <= gate and log_scale <= max_log_scale:
                    cost[a, b] = distance + p.scale_weight * log_scale
        rows, cols = linear_sum_assignment(cost)
        return [(tracks[r], dets[c]) for r, c in zip(rows, cols) if cost[r, c] < _NO_MATCH]

    def _observe(self, tr: _Track, anchor: tuple[np.ndarray, float], t_ns: int) -> None:
        pos, scale = anchor
        p = self.params
        dt_ms = (t_ns - tr.last_ns) / NS_PER_MS
        measured = (pos - tr.position) / (dt_ms / 1e3)
        top = p.max_speed * 0.5 * (scale + tr.scale)
        speed = float(np.hypot(*measured))
        if speed > top:
            measured *= top / speed
        a = _blend(dt_ms, p.velocity_tau_ms)
        tr.velocity = measured if tr.hits == 1 else a * measured + (1 - a) * tr.velocity
        b = _blend(dt_ms, p.scale_tau_ms)
        tr.scale = (1 - b) * tr.scale + b * scale
        tr.position = pos
        tr.last_ns = t_ns
        tr.hits += 1


def _blend(dt_ms: float, tau_ms: float) -> float:
    """Weight of a new measurement `dt_ms` after the last in a first-order low-pass with time constant `tau_ms`."""
    return 1.0 if tau_ms == 0 else 1.0 - math.exp(-dt_ms / tau_ms)
