"""The built-in walkers: exact timing, gait that behaves like real gait, and honest ground truth."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from footfall.engine.config import params as config_params
from footfall.engine.messages import LEFT_HEEL, LEFT_HIP, NUM_LANDMARKS, RIGHT_HEEL, RIGHT_HIP, SceneChange
from footfall.sources.procedural_walkers import (
    FOOT_FLAT,
    HEEL_OFF,
    TOE_OFF,
    ProceduralWalkers,
    SagittalGait,
    WalkerSceneParams,
    WalkerSpec,
)

HEEL = {"left": LEFT_HEEL, "right": RIGHT_HEEL}


@pytest.fixture(scope="module")
def scene() -> ProceduralWalkers:
    return ProceduralWalkers(WalkerSceneParams())


@pytest.fixture(scope="module")
def samples(scene):
    return list(scene.samples())


def _walker_index(scene: ProceduralWalkers, track_id: int) -> int:
    return next(i for i, w in enumerate(scene.walkers) if w.spec.track_id == track_id)


def _heel_px(scene: ProceduralWalkers, track_id: int, foot: str, t_ns: np.ndarray) -> np.ndarray:
    lm = scene.persons_at(_walker_index(scene, track_id), t_ns)[:, HEEL[foot], :2]
    return lm * (scene.params.width, scene.params.height)


def test_frame_times_are_exact_integers(scene, samples):
    assert scene.frame_count == 360 and len(samples) == 360
    assert scene.duration_ns == 12 * 10**9
    for i, sample in enumerate(samples):
        assert type(sample.t_ns) is int and sample.frame_index == i
        assert sample.t_ns == round(Fraction(i * 10**9, 30))


def test_ntsc_rate_frame_times():
    scene = ProceduralWalkers(WalkerSceneParams(fps=30000 / 1001, duration_s=1.0))
    assert scene.rate == Fraction(30000, 1001)
    assert scene.frame_count == 30
    times = [s.t_ns for s in scene.samples()]
    assert times == [round(Fraction(i * 1001 * 10**9, 30000)) for i in range(30)]
    assert scene.duration_ns == 1_001_000_000


def test_landmark_layout(samples):
    persons = [p for s in samples for p in s.persons]
    assert persons
    for person in persons:
        assert person.landmarks.dtype == np.float32 and person.landmarks.shape == (NUM_LANDMARKS, 4)
        assert person.world.dtype == np.float32 and person.world.shape == (NUM_LANDMARKS, 3)
        assert np.all(np.isfinite(person.landmarks))
        # World landmarks are metres around the hip midpoint.
        assert np.allclose(0.5 * (person.world[LEFT_HIP] + person.world[RIGHT_HIP]), 0.0, atol=1e-5)


def test_output_is_deterministic_including_jitter():
    params = WalkerSceneParams(duration_s=2.0, noise_px=1.5, seed=3)
    first, second = list(ProceduralWalkers(params).samples()), list(ProceduralWalkers(params).samples())
    other_seed = list(ProceduralWalkers(WalkerSceneParams(duration_s=2.0, noise_px=1.5, seed=4)).samples())
    assert [s.t_ns for s in first] == [s.t_ns for s in second]
    pairs = [(a, b, c) for s1, s2, s3 in zip(first, second, other_seed)
             for a, b, c in zip(s1.persons, s2.persons, s3.persons)]
    assert pairs
    assert all(np.array_equal(a.landmarks, b.landmarks) for a, b, _ in pairs)
    assert not all(np.array_equal(a.landmarks, c.landmarks) for a, _, c in pairs)


def test_jitter_has_the_requested_size():
    clean = list(ProceduralWalkers(WalkerSceneParams(duration_s=3.0)).samples())
    noisy = list(ProceduralWalkers(WalkerSceneParams(duration_s=3.0, noise_px=2.0)).samples())
    diffs = np.concatenate([(b.landmarks[:, :2] - a.landmarks[:, :2]) * (1280, 720)
                            for s, t in zip(clean, noisy) for a, b in zip(s.persons, t.persons)])
    assert abs(float(np.std(diffs)) - 2.0) < 0.1


def test_scene_changes(scene):
    assert scene.scene_changes() == [SceneChange(0, "wood"), SceneChange(6_000_000_000, "gravel")]
    assert all(type(c.t_ns) is int for c in scene.scene_changes())


def test_heel_is_on_the_ground_and_still_at_each_contact(scene):
    contacts = [c for c in scene.contacts() if c.on_screen]
    assert len(contacts) >= 15
    for c in contacts:
        gait = scene.walkers[_walker_index(scene, c.track_id)].gait
        cycle_ns = gait.cycle_s * 1e9
        # A whole stride around the contact: the heel is lowest on screen (largest y) from the contact on.
        stride = np.round(c.t_ns + np.linspace(-0.55, 0.3, 200) * cycle_ns).astype(np.int64)
        heel = _heel_px(scene, c.track_id, c.foot, np.append(stride, c.t_ns))
        assert heel[-1, 1] >= heel[:-1, 1].max() - 1e-6
        assert abs(heel[-1, 0] / scene.params.width - c.x) < 1e-9
        # Velocity over the last and next millisecond: about zero, against a fast swing before.
        around = _heel_px(scene, c.track_id, c.foot, np.array([c.t_ns - 1_000_000, c.t_ns, c.t_ns + 1_000_000]))
        before, after = (np.linalg.norm(around[1] - around[0]) * 1e3, np.linalg.norm(around[2] - around[1]) * 1e3)
        swing_speed = np.max(np.linalg.norm(np.diff(heel[:-1], axis=0), axis=1)) / (0.85 * cycle_ns / 199 / 1e9)
        assert after < 1e-3
        assert before < 0.1 * swing_speed


def test_contact_spacing_matches_cadence(scene):
    contacts = scene.contacts()
    for walker in scene.walkers:
        own = [c for c in contacts if c.track_id == walker.spec.track_id]
        step_ns = 60e9 / walker.spec.cadence_spm
        gaps = np.diff([c.t_ns for c in own])
        assert np.all(np.abs(gaps - step_ns) <= 1.0)
        feet = [c.foot for c in own]
        assert all(a != b for a, b in zip(feet, feet[1:]))


def test_stance_foot_does_not_slide(scene):
    frame_ns = 10**9 / 30
    for c in scene.contacts():
        gait = scene.walkers[_walker_index(scene, c.track_id)].gait
        cycle_ns = gait.cycle_s * 1e9
        # The heel is planted from contact to heel-off; the toe from foot-flat to toe-off.
        heel_times = np.arange(c.t_ns, c.t_ns + HEEL_OFF * cycle_ns, frame_ns).astype(np.int64)
        heel = _heel_px(scene, c.track_id, c.foot, heel_times)
        assert np.max(np.linalg.norm(np.diff(heel, axis=0), axis=1)) < 0.01
        toe_index = 31 if c.foot == "left" else 32
        toe_times = np.arange(c.t_ns + FOOT_FLAT * cycle_ns, c.t_ns + TOE_OFF * cycle_ns, frame_ns).astype(np.int64)
        toe = scene.persons_at(_walker_index(scene, c.track_id), toe_times)[:, toe_index, :2] * (1280, 720)
        assert np.max(np.linalg.norm(np.diff(toe, axis=0), axis=1)) < 0.01


def test_off_screen_landmarks_have_low_visibility(samples):
    seen_outside = seen_inside = 0
    for sample in samples:
        for person in sample.persons:
            xy, vis = person.landmarks[:, :2], person.landmarks[:, 3]
            outside = np.any((xy < 0) | (xy > 1), axis=1)
            assert np.all(vis[outside] < 0.2) and np.all(vis[~outside] == 1.0)
            seen_outside += int(outside.sum())
            seen_inside += int((~outside).sum())
    assert seen_outside > 0 and seen_inside > 0


def test_walkers_walk_in_from_off_screen(scene, samples):
    for walker in scene.walkers:
        track = walker.spec.track_id
        first = next(s for s in samples if any(p.track_id == track for p in s.persons))
        lm = next(p for p in first.persons if p.track_id == track).landmarks
        assert np.any(lm[:, 0] < 0) or np.any(lm[:, 0] > 1)
    flags = [c.on_screen for c in scene.contacts()]
    assert any(flags) and not all(flags)


def test_depth_scales_the_figure_and_lifts_the_ground(samples):
    both = next(s for s in samples if len(s.persons) == 2)
    size = {p.track_id: float(p.landmarks[[27, 28], 1].max() - p.landmarks[0, 1]) for p in both.persons}
    ground = {p.track_id: float(p.landmarks[[29, 30], 1].max()) for p in both.persons}
    # Track 1 walks at depth 2.0, track 2 at depth 1.0; sizes scale with height / depth.
    assert size[1] / size[2] == pytest.approx(0.5 * 1.65 / 1.78, rel=0.1)
    assert 0.45 < ground[1] < ground[2] and ground[2] == pytest.approx(0.92, abs=0.03)
    assert 0.45 < size[2] < 0.65


def test_gait_cycle_follows_standard_curves():
    gait = SagittalGait(1.7, 1.3, 110)
    psi = np.linspace(0, 1, 400, endpoint=False)
    angles = {k: np.degrees(v) for k, v in gait.joint_angles(psi).items()}
    knee, thigh = angles["knee"], angles["thigh"]
    loading = knee[(psi > 0.05) & (psi < 0.25)].max()
    assert 14 <= loading <= 22
    assert knee[psi < 0.6].min() >= 2.5
    assert 50 <= knee[psi >= 0.6].max() <= 70
    assert 20 <= thigh.max() <= 35 and -25 <= thigh.min() <= -5
    # The pelvis bobs twice per stride by a few centimetres.
    pelvis = gait.leg(psi)["hip"][:, 1]
    assert np.allclose(pelvis, gait.leg(psi + 0.5)["hip"][:, 1])
    assert 0.02 <= pelvis.max() - pelvis.min() <= 0.07
    # The toe clears the ground in swing.
    toe = gait.leg(np.linspace(0.65, 0.95, 100))["toe"][:, 1]
    assert toe.min() > 0.008


def test_arms_swing_against_the_legs():
    gait = SagittalGait(1.7, 1.3, 110)
    cycles = np.linspace(0, 1, 200, endpoint=False)
    body = gait.body(cycles)
    wrist_ahead = body[:, 15, 0] - body[:, 11, 0]  # left wrist relative to the left shoulder
    ankle_ahead = body[:, 27, 0] - body[:, 23, 0]  # left ankle relative to the left hip
    assert np.corrcoef(wrist_ahead, ankle_ahead)[0, 1] < -0.7


def test_heel_lead_over_the_hip_peaks_just_before_each_contact(scene):
    """The usual detector feature (heel ahead of the hip along the walk) peaks 20-40 ms before the heel lands."""
    for c in scene.contacts():
        index = _walker_index(scene, c.track_id)
        sign = scene.walkers[index].direction
        times = c.t_ns + np.arange(-150, 151) * 1_000_000  # 1 ms steps around the contact
        lm = scene.persons_at(index, times)
        hip = LEFT_HIP if c.foot == "left" else RIGHT_HIP
        feature = sign * (lm[:, HEEL[c.foot], 0] - lm[:, hip, 0])
        lead_ms = (c.t_ns - times[int(np.argmax(feature))]) / 1e6
        assert 20 <= lead_ms <= 40


def test_invalid_specs_are_rejected():
    with pytest.raises(ValueError):
        WalkerSpec(1, 0.2, 0.2, 1.0, 1.2, 100, 0.0)
    with pytest.raises(ValueError):
        WalkerSpec(1, 0.0, 1.0, -1.0, 1.2, 100, 0.0)
    with pytest.raises(ValueError):
        SagittalGait(1.0, 3.0, 60)  # a 3 m stride for a 1 m walker
    walker = WalkerSpec(1, 0.0, 1.0, 1.0, 1.2, 100, 0.0)
    with pytest.raises(ValueError):
        WalkerSceneParams(walkers=(walker, walker))


def test_scene_params_load_from_a_toml_table():
    table = {"duration_s": 4, "fps": 25, "surface_changes": [[0, "grass"], [2.5, "tile"]],
             "walkers": [{"track_id": 7, "start_x": -0.1, "end_x": 1.1, "depth": 1.5, "speed_mps": 1.2,
                          "cadence_spm": 108, "start_s": 0.5}]}
    p = config_params(WalkerSceneParams, table, "demo")
    assert p.walkers == (WalkerSpec(7, -0.1, 1.1, 1.5, 1.2, 108.0, 0.5),)
    scene = ProceduralWalkers(p)
    assert scene.frame_count == 100
    assert [c.surface for c in scene.scene_changes()] == ["grass", "tile"]
    assert {c.track_id for c in scene.contacts()} == {7}
