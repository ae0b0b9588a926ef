"""The pose cache keeps every person with its track id, and its key follows the settings that change the poses."""
from __future__ import annotations

import numpy as np

from footfall.engine.messages import NUM_LANDMARKS, PersonPose, PoseSample
from footfall.engine.pose.extract import _key, _load, _save
from footfall.engine.pose.mediapipe_pose import PoseParams
from footfall.engine.pose.person_tracker import PersonTrackerParams
from footfall.sources.video_file import VideoSourceParams


def person(track_id: int, rng: np.random.Generator, world: bool) -> PersonPose:
    lm = rng.random((NUM_LANDMARKS, 4)).astype(np.float32)
    return PersonPose(track_id, lm, rng.standard_normal((NUM_LANDMARKS, 3)).astype(np.float32) if world else None)


def test_two_people_round_trip_with_their_ids(tmp_path):
    rng = np.random.default_rng(1)
    samples = [
        PoseSample(0, 0, 640, 480, ()),
        PoseSample(1, 33_366_667, 640, 480, (person(3, rng, True), person(7, rng, False))),
        PoseSample(2, 66_733_333, 640, 480, (person(7, rng, True),)),
        PoseSample(3, 100_100_000, 640, 480, (person(3, rng, False), person(7, rng, True), person(9, rng, True))),
    ]
    path = tmp_path / "poses.npz"
    _save(path, samples)
    loaded = _load(path)
    assert len(loaded) == len(samples)
    for a, b in zip(samples, loaded):
        assert (b.frame_index, b.t_ns, b.width, b.height) == (a.frame_index, a.t_ns, a.width, a.height)
        assert [p.track_id for p in b.persons] == [p.track_id for p in a.persons]
        for pa, pb in zip(a.persons, b.persons):
            assert pb.landmarks.dtype == np.float32 and np.array_equal(pb.landmarks, pa.landmarks)
            assert (pb.world is None) == (pa.world is None)
            if pa.world is not None:
                assert np.array_equal(pb.world, pa.world)


def test_a_video_with_nobody_round_trips(tmp_path):
    samples = [PoseSample(i, i * 40_000_000, 320, 240, ()) for i in range(3)]
    _save(tmp_path / "empty.npz", samples)
    assert [(s.frame_index, s.t_ns, s.persons) for s in _load(tmp_path / "empty.npz")] == \
        [(s.frame_index, s.t_ns, ()) for s in samples]


def test_cache_key_follows_people_and_tracking_only_when_tracking_runs(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"not decoded here")
    source = VideoSourceParams()
    strict = PersonTrackerParams(birth_frames=5)
    one = _key(video, PoseParams(), source)
    assert _key(video, PoseParams(workers=1), source) == one
    assert _key(video, PoseParams(tracking=strict), source) == one  # one person: no tracker runs
    several = _key(video, PoseParams(max_people=2), source)
    assert several != one
    assert _key(video, PoseParams(max_people=3), source) != several
    assert _key(video, PoseParams(max_people=2, tracking=strict), source) != several
