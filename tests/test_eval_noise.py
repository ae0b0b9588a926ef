"""Tracker noise: measuring recovers what was applied; applying is deterministic by seed."""
import numpy as np
import pytest

from footfall.engine.evaluation.noise import (NoiseParams, apply_noise, fit, load_noise, measure, measure_swaps,
                                             track_from_samples)
from footfall.engine.messages import NUM_LANDMARKS, PersonPose, PoseSample

FPS = 30


def clean_stream(frames: int = 300) -> list[PoseSample]:
    """A figure 500 px tall whose legs swing in anti-phase (feet apart most of the time) across a 1280x720 frame."""
    t = np.arange(frames) / FPS
    base = np.zeros((NUM_LANDMARKS, 2))
    base[:, 1] = np.linspace(110, 560, NUM_LANDMARKS)
    base[0] = [0, 100]
    out = []
    for i, ti in enumerate(t):
        xy = base.copy()
        xy[:, 0] = 300 + 40 * ti
        swing = 80 * np.sin(2 * np.pi * 0.8 * ti)
        for j in (25, 27, 29, 31):
            xy[j] = [xy[j, 0] + swing * (j / 31), 600]
        for j in (26, 28, 30, 32):
            xy[j] = [xy[j, 0] - swing * (j / 32), 600]
        lm = np.ones((NUM_LANDMARKS, 4), dtype=np.float32)
        lm[:, 0], lm[:, 1], lm[:, 2] = xy[:, 0] / 1280, xy[:, 1] / 720, 0
        out.append(PoseSample(i, i * 1_000_000_000 // FPS, 1280, 720, (PersonPose(0, lm),)))
    return out


def test_same_seed_same_stream_other_seed_other_stream():
    params = NoiseParams(jitter_feet=0.01, swap_rate_per_s=0.5, dropout_rate_per_s=0.3, foot_visibility_mean=0.8,
                         foot_visibility_std=0.1)
    a, b, c = (apply_noise(clean_stream(60), params, seed) for seed in (1, 1, 2))
    la = np.stack([s.persons[0].landmarks if s.persons else np.zeros((33, 4)) for s in a])
    lb = np.stack([s.persons[0].landmarks if s.persons else np.zeros((33, 4)) for s in b])
    lc = np.stack([s.persons[0].landmarks if s.persons else np.zeros((33, 4)) for s in c])
    np.testing.assert_array_equal(la, lb)
    assert not np.array_equal(la, lc)
    assert [s.t_ns for s in a] == [s.t_ns for s in clean_stream(60)]


def test_measure_recovers_applied_jitter_and_visibility():
    params = NoiseParams(jitter_feet=0.01, jitter_hips=0.004, foot_visibility_mean=0.8, foot_visibility_std=0.1)
    m = measure(apply_noise(clean_stream(), params, seed=3))
    assert m["jitter_feet"] == pytest.approx(0.01, rel=0.15)
    assert m["jitter_hips"] == pytest.approx(0.004, rel=0.2)
    assert m["jitter_face"] < 0.001
    assert m["foot_visibility_mean"] == pytest.approx(0.8, abs=0.02)
    assert m["foot_visibility_std"] == pytest.approx(0.1, abs=0.02)


def test_swaps_and_dropouts_are_found():
    clean = clean_stream()
    assert measure_swaps(track_from_samples(clean)) == []
    swapped = []
    for i, s in enumerate(clean):
        lm = s.persons[0].landmarks.copy()
        if 100 <= i < 110:  # the legs trade places for ten frames
            lm[[25, 27, 29, 31, 26, 28, 30, 32]] = lm[[26, 28, 30, 32, 25, 27, 29, 31]]
        persons = () if 200 <= i < 204 else (PersonPose(0, lm),)
        swapped.append(PoseSample(s.frame_index, s.t_ns, s.width, s.height, persons))
    m = measure(swapped)
    assert (m["swap_runs"], m["swap_frames"]) == (1, 10)
    assert (m["dropout_runs"], m["dropout_frames"]) == (1, 4)
    fitted = fit([m, m])
    assert fitted.swap_rate_per_s == pytest.approx(1 / 10)
    assert fitted.swap_mean_frames == 10


def test_realistic_preset_loads():
    params = load_noise("realistic")
    assert 0 < params.jitter_face < params.jitter_feet < 0.05
    assert params.jitter_feet < params.jitter_z_feet  # depth is the weak axis
    assert 0 < params.jitter_world_feet < params.jitter_world_z_feet < 0.05
    assert params.landmark_z_scale > 1
    assert load_noise("none") == NoiseParams()


FOCAL_PX = 400.0  # pixels per metre of the orthographic test camera


def clean_stream_3d(frames: int = 300) -> list[PoseSample]:
    """A walker 1.5 m tall in camera axes (x right, y down, z away) whose legs swing in depth (a rear view), with
    world landmarks about the hips and z = depth in x's scale, as projection.pose_stream makes them."""
    t = np.arange(frames) / FPS
    base = np.zeros((NUM_LANDMARKS, 3))
    base[:, 1] = np.linspace(-0.7, 0.75, NUM_LANDMARKS)
    base[:, 0] = 0.15 * np.sin(np.arange(NUM_LANDMARKS))
    base[0] = [0.0, -0.75, -0.05]
    base[23], base[24] = [0.1, 0.0, 0.0], [-0.1, 0.0, 0.0]
    out = []
    for i, ti in enumerate(t):
        world = base.copy()
        swing = 0.3 * np.sin(2 * np.pi * 0.9 * ti)
        for j in (25, 27, 29, 31):
            world[j, 2] = swing * j / 31
        for j in (26, 28, 30, 32):
            world[j, 2] = -swing * j / 32
        world[23, 2], world[24, 2] = 0.02 * np.sin(2 * np.pi * 0.9 * ti), -0.02 * np.sin(2 * np.pi * 0.9 * ti)
        lm = np.ones((NUM_LANDMARKS, 4), dtype=np.float32)
        lm[:, 0] = (640 + 30 * ti + FOCAL_PX * world[:, 0]) / 1280
        lm[:, 1] = (360 + FOCAL_PX * world[:, 1]) / 720
        lm[:, 2] = FOCAL_PX * world[:, 2] / 1280
        out.append(PoseSample(i, i * 1_000_000_000 // FPS, 1280, 720, (PersonPose(0, lm, world.astype(np.float32)),)))
    return out


DEPTH = dict(jitter_z_feet=0.05, jitter_z_hips=0.01, jitter_world_feet=0.01, jitter_world_z_feet=0.02,
             jitter_world_z_hips=0.003, landmark_z_scale=3.0)


def landmarks(stream: list[PoseSample]) -> np.ndarray:
    return np.stack([s.persons[0].landmarks if s.persons else np.zeros((33, 4), np.float32) for s in stream])


def worlds(stream: list[PoseSample]) -> np.ndarray:
    return np.stack([s.persons[0].world if s.persons else np.zeros((33, 3), np.float32) for s in stream])


def test_clean_depth_measures_no_jitter_and_unit_z_scale():
    m = measure(clean_stream_3d())
    assert max(m[f"jitter_{kind}{g}"] for kind in ("z_", "world_", "world_z_") for g in ("feet", "hips", "arms")) \
        < 1e-3
    assert m["landmark_z_scale"] == pytest.approx(1.0, abs=0.01)
    assert m["world_seconds"] == pytest.approx(m["seconds"])


def test_measure_recovers_applied_depth_and_world_jitter():
    noisy = apply_noise(clean_stream_3d(), NoiseParams(**DEPTH), seed=5)
    m = measure(noisy)
    for key, value in DEPTH.items():
        if key != "landmark_z_scale":
            assert m[key] == pytest.approx(value, rel=0.2), key
    assert m["landmark_z_scale"] == pytest.approx(3.0, rel=0.05)
    assert m["jitter_world_face"] < 1e-3 and m["jitter_feet"] < 1e-3
    lm, world = landmarks(noisy), worlds(noisy)
    # hips get equal and opposite noise: the origin of z and world stays at their midpoint
    np.testing.assert_allclose(lm[:, 23, 2] + lm[:, 24, 2], 0, atol=1e-6)
    np.testing.assert_allclose(world[:, 23] + world[:, 24], 0, atol=1e-6)


def test_swaps_exchange_world_legs_with_the_image_legs():
    clean = clean_stream_3d(120)
    noisy = apply_noise(clean, NoiseParams(swap_rate_per_s=1.0, swap_mean_frames=8), seed=2)
    legs, crossed = [25, 27, 29, 31, 26, 28, 30, 32], [26, 28, 30, 32, 25, 27, 29, 31]
    swapped = 0
    for c, n in zip(clean, noisy):
        cl, nl, cw, nw = c.persons[0].landmarks, n.persons[0].landmarks, c.persons[0].world, n.persons[0].world
        if np.array_equal(nl[legs], cl[crossed]):
            swapped += 1
            np.testing.assert_array_equal(nw[legs], cw[crossed])
        else:
            np.testing.assert_array_equal(nl, cl)
            np.testing.assert_array_equal(nw, cw)
    assert 10 <= swapped <= 110


def test_depth_noise_is_deterministic_by_seed():
    params = NoiseParams(**DEPTH, swap_rate_per_s=0.5, dropout_rate_per_s=0.3)
    a, b, c = (apply_noise(clean_stream_3d(60), params, seed) for seed in (4, 4, 9))
    np.testing.assert_array_equal(landmarks(a), landmarks(b))
    np.testing.assert_array_equal(worlds(a), worlds(b))
    assert not np.array_equal(worlds(a), worlds(c))
    assert not np.array_equal(landmarks(a)[..., 2], landmarks(c)[..., 2])


def test_depth_noise_leaves_image_noise_bit_identical():
    planar = NoiseParams(jitter_feet=0.01, jitter_arms=0.005, swap_rate_per_s=0.5, dropout_rate_per_s=0.3,
                         foot_visibility_mean=0.8, foot_visibility_std=0.1)
    with_depth = NoiseParams(**{**{f: getattr(planar, f) for f in planar.__dataclass_fields__}, **DEPTH})
    a, b = apply_noise(clean_stream_3d(90), planar, 11), apply_noise(clean_stream_3d(90), with_depth, 11)
    assert [len(s.persons) for s in a] == [len(s.persons) for s in b]
    la, lb = landmarks(a), landmarks(b)
    np.testing.assert_array_equal(la[..., [0, 1, 3]], lb[..., [0, 1, 3]])
    assert not np.array_equal(la[..., 2], lb[..., 2])
    clean_z = landmarks(clean_stream_3d(90))[..., 2]
    present = np.array([bool(s.persons) for s in a])
    np.testing.assert_array_equal(la[present][..., 2], clean_z[present])  # without depth params z stays clean
    np.testing.assert_array_equal(worlds(a)[present][:, :23], worlds(clean_stream_3d(90))[present][:, :23])


def test_fit_weights_world_figures_by_frames_that_had_world():
    with_world = measure(apply_noise(clean_stream_3d(), NoiseParams(**DEPTH), seed=1))
    without = measure(clean_stream())
    fitted = fit([with_world, without])
    assert fitted.landmark_z_scale == pytest.approx(with_world["landmark_z_scale"])
    assert fitted.jitter_world_z_feet == pytest.approx(with_world["jitter_world_z_feet"])
