"""PersonTracker on synthetic PoseSamples: people walking, crossing, leaving, shuffled, and false detections."""
from __future__ import annotations

import random

import numpy as np
import pytest

from footfall.engine.config import ConfigError, params
from footfall.engine.messages import (
    LEFT_HIP, LEFT_SHOULDER, NUM_LANDMARKS, RIGHT_HIP, RIGHT_SHOULDER, PersonPose, PoseSample,
)
from footfall.engine.pose.person_tracker import PersonTracker, PersonTrackerParams, body_anchor

W, H = 1280, 720
FPS = 50
FRAME_NS = 1_000_000_000 // FPS


def person(x: float, y: float, torso: float, tag: float = 0.0) -> PersonPose:
    """A pose whose hip midpoint is at (x, y) pixels with the given torso length; `tag` marks it in landmark z."""
    lm = np.zeros((NUM_LANDMARKS, 4), np.float32)
    lm[:, 0], lm[:, 1] = x / W, (y - 0.5 * torso) / H
    lm[:, 3] = 0.9
    lm[:, 2] = tag
    for i, dx in ((LEFT_HIP, 0.15), (RIGHT_HIP, -0.15)):
        lm[i, 0], lm[i, 1] = (x + dx * torso) / W, y / H
    for i, dx in ((LEFT_SHOULDER, 0.2), (RIGHT_SHOULDER, -0.2)):
        lm[i, 0], lm[i, 1] = (x + dx * torso) / W, (y - torso) / H
    return PersonPose(-1, lm)


def sample(i: int, persons: list[PersonPose]) -> PoseSample:
    return PoseSample(i, i * FRAME_NS, W, H, tuple(persons))


def ids_by_tag(out: PoseSample) -> dict[float, int]:
    return {float(p.landmarks[0, 2]): p.track_id for p in out.persons}


def test_body_anchor_is_hip_midpoint_and_torso_length():
    hip, torso = body_anchor(person(300.0, 400.0, 120.0).landmarks, W, H)
    assert np.allclose(hip, (300.0, 400.0), atol=1e-3)
    assert torso == pytest.approx(120.0, abs=1e-2)


def test_two_people_crossing_keep_their_ids():
    # A walks right in front (larger, lower in the picture), B walks left behind; their x positions cross.
    tracker = PersonTracker()
    seen: dict[float, set[int]] = {1.0: set(), 2.0: set()}
    for i in range(100):
        a = person(200 + 8 * i, 450, 110, tag=1.0)
        b = person(1000 - 8 * i, 380, 80, tag=2.0)
        for tag, tid in ids_by_tag(tracker.update(sample(i, [a, b]))).items():
            seen[tag].add(tid)
    assert len(seen[1.0]) == 1 and len(seen[2.0]) == 1
    assert seen[1.0] != seen[2.0]


def test_people_passing_through_each_other_at_the_same_depth_keep_their_ids():
    # Same size, same ground line: while they overlap only one of them is reported, as a pose estimator does.
    tracker = PersonTracker()
    seen: dict[float, set[int]] = {1.0: set(), 2.0: set()}
    for i in range(100):
        xa, xb = 300 + 6 * i, 900 - 6 * i
        persons = [person(xa, 400, 100, tag=1.0)]
        if abs(xa - xb) > 40:
            persons.append(person(xb, 400, 100, tag=2.0))
        for tag, tid in ids_by_tag(tracker.update(sample(i, persons))).items():
            seen[tag].add(tid)
    assert len(seen[1.0]) == 1 and len(seen[2.0]) == 1
    assert seen[1.0] != seen[2.0]


def test_shuffled_order_keeps_ids():
    rng = random.Random(3)
    ordered, shuffled = PersonTracker(), PersonTracker()
    for i in range(60):
        people = [person(200 + 5 * i, 420, 100, 1.0), person(640, 380 + i, 70, 2.0), person(1100 - 4 * i, 300, 50, 3.0)]
        mixed = people[:]
        rng.shuffle(mixed)
        assert ids_by_tag(ordered.update(sample(i, people))) == ids_by_tag(shuffled.update(sample(i, mixed)))
    assert len(ordered.live_ids) == 3


def test_leaving_longer_than_the_death_time_gives_a_new_id_and_shorter_keeps_it():
    p = PersonTrackerParams(death_ms=300.0)
    tracker = PersonTracker(p)
    ids = []
    for i in range(120):
        gone = 30 <= i < 40 or 70 <= i < 90  # 200 ms away, then 400 ms away
        out = tracker.update(sample(i, [] if gone else [person(500 + i, 400, 100)]))
        ids.append(out.persons[0].track_id if out.persons else None)
    first = ids[2]
    assert first is not None
    assert ids[45] == first  # back after 200 ms < death time: same person
    later = ids[95]
    assert later is not None and later != first  # back after 400 ms: a new id, never the old one
    assert ids[89] is None and ids[90] is None and ids[91] is None  # re-born after birth_frames sightings


def test_one_frame_false_detection_never_becomes_a_track():
    tracker = PersonTracker(PersonTrackerParams(birth_frames=3))
    for i in range(40):
        persons = [person(400 + 2 * i, 400, 100, 1.0)]
        if i == 20:
            persons.append(person(1000, 300, 60, 9.0))
        out = tracker.update(sample(i, persons))
        assert 9.0 not in ids_by_tag(out)
    assert tracker.live_ids == (0,)
    # ids were not spent on the false detection: the next real newcomer gets 1
    for i in range(40, 45):
        out = tracker.update(sample(i, [person(400 + 2 * i, 400, 100, 1.0), person(900, 300, 60, 2.0)]))
    assert ids_by_tag(out) == {1.0: 0, 2.0: 1}


def test_a_newcomer_is_reported_only_after_birth_frames():
    tracker = PersonTracker(PersonTrackerParams(birth_frames=4))
    counts = [len(tracker.update(sample(i, [person(600, 400, 100)])).persons) for i in range(6)]
    assert counts == [0, 0, 0, 1, 1, 1]


def test_offline_a_newcomer_is_named_from_its_first_frame_and_a_false_detection_still_never():
    tracker = PersonTracker(PersonTrackerParams(birth_frames=4))
    out = []
    for i in range(8):
        persons = [person(600 + 2 * i, 400, 100, 1.0)] if i >= 2 else []
        if i == 5:
            persons.append(person(1000, 300, 60, 9.0))  # one frame only
        out += tracker.push(sample(i, persons))
        assert len(out) == max(0, i - 2)  # three frames held back
    out += tracker.flush()
    assert [s.frame_index for s in out] == list(range(8))
    assert [ids_by_tag(s) for s in out] == [{}, {}] + [{1.0: 0}] * 6


def test_duplicate_poses_of_one_person_are_reported_once():
    tracker = PersonTracker()
    for i in range(10):
        out = tracker.update(sample(i, [person(600, 400, 100, 1.0), person(605, 402, 98, 2.0)]))
    assert len(out.persons) == 1


def test_time_must_increase():
    tracker = PersonTracker()
    tracker.update(sample(5, []))
    with pytest.raises(ValueError, match="does not follow"):
        tracker.update(sample(5, []))


def test_params_from_a_config_table():
    p = params(PersonTrackerParams, {"birth_frames": 2, "death_ms": 800}, "test [person_tracker]")
    assert p.birth_frames == 2 and p.death_ms == 800.0
    with pytest.raises(ConfigError):
        params(PersonTrackerParams, {"birth_frames": 0}, "test [person_tracker]")
