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
    assert load_noise("none") == NoiseParams()
