"""True contacts from a synthetic foot trajectory whose touchdowns are known."""
import numpy as np

from footfall.engine.evaluation.mocap_contacts import ContactParams, foot_contacts, heel_points, stance_intervals


def walking_foot(fps: float, touchdowns: list[float], duration: float, stance_s: float = 0.6, swing_s: float = 0.4,
                 step_m: float = 1.2, lift_m: float = 0.1):
    """Ankle and toe (frames, 3), Y up: flat on the ground in stance, a sine arc during each swing that ends at the
    next touchdown. The foot is on the ground from `duration` start until the first swing."""
    t = np.arange(int(duration * fps)) / fps
    x = np.zeros_like(t)
    lift = np.zeros_like(t)
    position = 0.0
    for k, touch in enumerate(touchdowns):
        start = touch - swing_s
        phase = np.clip((t - start) / swing_s, 0, 1)
        x = np.where(t >= start, position + step_m * (1 - np.cos(np.pi * phase)) / 2, x)
        lift = np.where((t >= start) & (t < touch), lift_m * np.sin(np.pi * phase), lift)
        position += step_m
    ankle = np.stack([np.zeros_like(t), 0.08 + lift, x], axis=1)
    toe = ankle + np.array([0.0, -0.05, 0.15])
    return ankle, toe


def test_contacts_found_at_touchdowns():
    fps = 30.0
    touchdowns = [0.8, 1.8, 2.8, 3.8]
    ankle, toe = walking_foot(fps, touchdowns, 4.5)
    contacts = foot_contacts(ankle, toe, fps)
    assert len(contacts) == len(touchdowns)
    for c, truth in zip(contacts, touchdowns):
        # the rule fires when height and speed fall under their thresholds, shortly before the sine arc ends
        assert -0.04 < c.t_ns / 1e9 - truth <= 0.0
        assert c.frame == int(np.ceil(c.t_ns / 1e9 * fps - 1e-9))
        assert c.foot == "left"


def test_subframe_times_agree_across_frame_rates():
    touchdowns = [0.8, 1.8]
    low = foot_contacts(*walking_foot(30.0, touchdowns, 2.5), 30.0)
    high = foot_contacts(*walking_foot(240.0, touchdowns, 2.5), 240.0)
    assert len(low) == len(high) == 2
    for a, b in zip(low, high):
        assert abs(a.t_ns - b.t_ns) < 8e6  # sub-frame interpolation keeps 30 fps within 8 ms of 240 fps


def test_heel_point_sits_on_ground_in_stance():
    ankle, toe = walking_foot(30.0, [0.8], 1.5)
    heel = heel_points(ankle, toe)
    np.testing.assert_allclose(heel[0, 1], toe[0, 1], atol=0.01)
    assert heel[0, 2] < ankle[0, 2]


def test_hysteresis_and_minimum_durations():
    params = ContactParams(min_stance_s=0.1, min_swing_s=0.1)
    score = np.array([3, 3, 0.5, 1.2, 0.5, 0.5, 0.5, 3, 0.5, 3, 3, 3, 3, 0.5, 0.5, 0.5, 0.5], dtype=float)
    # 1.2 is under release (1.5): the first stance continues; the one-frame stance at 8 is too short and sits
    # less than a swing after the first, so it merges into it; the last one runs to the end
    assert stance_intervals(score, 30.0, params) == [(2, 9), (13, 17)]
