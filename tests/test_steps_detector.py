"""The step detector on pose streams with exactly known contacts: the built-in walkers, swapped legs, standing still,
and the landing measurement on its own."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from footfall.engine.messages import NUM_LANDMARKS, PersonPose, PoseSample
from footfall.engine.steps.closing_step import closing_foot
from footfall.engine.steps.contact_timing import (damp_lateral, landed_foot_ground, landing_ahead, landing_index,
                                                  smooth, stance_foot_ground, velocity)
from footfall.engine.steps.detector import StepDetector, StepParams
from footfall.engine.steps.gait_signal import LEFT_LEG, RIGHT_LEG, body_frame
from footfall.sources.procedural_walkers import ProceduralWalkers, WalkerSceneParams

FRAME_NS = 1_000_000_000 / 30


@pytest.fixture(scope="module")
def scene() -> ProceduralWalkers:
    return ProceduralWalkers(WalkerSceneParams(noise_px=1.0))


@pytest.fixture(scope="module")
def samples(scene) -> list[PoseSample]:
    return list(scene.samples())


def run(samples, mode: str, **overrides):
    detector = StepDetector(dataclasses.replace(StepParams(mode=mode), **overrides))
    events = [e for s in samples for e in detector.push(s)]
    return events + detector.flush()


def match(events, contacts, tolerance_ns):
    """(hits, misses, false steps) of events against the true contacts, per person."""
    hits = misses = 0
    used = set()
    for c in contacts:
        near = [i for i, e in enumerate(events) if e.track_id == c.track_id and i not in used
                and abs(e.t_ns - c.t_ns) <= tolerance_ns]
        if near:
            used.add(min(near, key=lambda i: abs(events[i].t_ns - contacts[0].t_ns)))
            hits += 1
        else:
            misses += 1
    return hits, misses, len(events) - len(used)


# The walkers' contact is the heel's complete stop; the detector is calibrated to motion capture's contact (foot
# below 1 m/s and on the ground), which comes up to a frame earlier on the walkers' smooth landing.
@pytest.mark.parametrize("mode, frames", [("render", 1.5), ("live", 2.0)])
def test_walkers_steps_are_found_within_tolerance(scene, samples, mode, frames):
    contacts = [c for c in scene.contacts() if c.on_screen]
    events = run(samples, mode)
    hits, misses, false = match(events, contacts, frames * FRAME_NS)
    assert hits >= 0.9 * len(contacts), (hits, misses, false)
    assert false <= 1


def test_swapped_legs_are_swapped_back(samples):
    swapped = []
    for i, s in enumerate(samples):
        if 100 <= i < 130 and s.persons:
            persons = []
            for p in s.persons:
                if p.track_id != 1:  # walker 2 enters during these frames: nothing to tell the swap from
                    persons.append(p)
                    continue
                lm = p.landmarks.copy()
                lm[list(LEFT_LEG + RIGHT_LEG)] = p.landmarks[list(RIGHT_LEG + LEFT_LEG)]
                world = None
                if p.world is not None:  # the tracker swaps its world landmarks with the image ones
                    world = p.world.copy()
                    world[list(LEFT_LEG + RIGHT_LEG)] = p.world[list(RIGHT_LEG + LEFT_LEG)]
                persons.append(PersonPose(p.track_id, lm, world))
            s = dataclasses.replace(s, persons=tuple(persons))
        swapped.append(s)
    plain = run(samples, "render")
    fixed = run(swapped, "render")
    assert [(e.track_id, e.foot) for e in fixed] == [(e.track_id, e.foot) for e in plain]
    assert max(abs(a.t_ns - b.t_ns) for a, b in zip(fixed, plain)) < 0.2 * FRAME_NS


def test_standing_still_makes_no_steps():
    rng = np.random.default_rng(1)
    base = next(s for s in ProceduralWalkers(WalkerSceneParams()).samples() if s.persons).persons[0].landmarks
    samples = []
    for i in range(300):
        lm = base.copy()
        lm[:, :2] += rng.normal(0, 0.002, (NUM_LANDMARKS, 2))
        samples.append(PoseSample(i, int(i * FRAME_NS), 1280, 720, (PersonPose(0, lm),)))
    for mode in ("render", "live"):
        assert run(samples, mode) == []


def test_world_depth_fills_the_depth_axis():
    lm = np.zeros((NUM_LANDMARKS, 4), np.float32)
    lm[:, 3] = 1.0
    world = np.zeros((NUM_LANDMARKS, 3), np.float32)
    # hips 0.2 m apart, knees 0.45 m and ankles 0.9 m below them: leg length 0.9 m
    for side, x in ((0, 0.1), (1, -0.1)):
        world[23 + side] = (x, 0.0, 0.0)
        world[25 + side] = (x, 0.45, 0.0)
        world[27 + side] = (x, 0.9, 0.0)
        lm[23 + side, :2] = (0.5 + x / 10, 0.5)
        lm[25 + side, :2] = (0.5 + x / 10, 0.6)
        lm[27 + side, :2] = (0.5 + x / 10, 0.7)
    world[29, 2] = 0.45  # left heel half a leg behind the hips (away from the camera)
    frame = body_frame(PersonPose(0, lm, world), 1000, 1000)
    assert frame.has_depth
    assert frame.points[0, 2] == pytest.approx(0.5)
    # the person faces the camera (-z): left hip on +x, up is -y
    assert np.allclose(frame.facing, (0, 0, -1))
    assert not body_frame(PersonPose(0, lm, None), 1000, 1000).has_depth


@pytest.mark.parametrize("ground", [0.0, -1.5])  # a floor seen from the hips, a treadmill belt on screen
def test_landing_is_where_the_foot_joins_the_ground(ground):
    rate = 100.0
    t = np.arange(60) / rate
    landing = 0.3
    # the foot decelerates linearly from 4 legs/s to the ground's velocity, landing at 0.3 s, then moves with it
    v = np.where(t < landing, ground + np.clip(4.0 * (landing - t) / 0.15, 0, 4.0), ground)
    x = np.cumsum(v) / rate
    pos = np.stack([x, np.zeros_like(x)], axis=1)
    vel = velocity(pos, 5, rate)
    measured = landed_foot_ground(vel, vel, slice(40, 55))
    assert measured == pytest.approx([ground, 0.0], abs=1e-9)
    found = landing_index(vel, vel, measured, slice(10, 55), speed=1.1)
    # crossing 1.1 legs/s happens where 4 * (landing - t) / 0.15 = 1.1
    expected = (landing - 1.1 * 0.15 / 4.0) * rate
    assert found == pytest.approx(expected, abs=0.6)


def test_velocity_matches_a_known_quadratic():
    rate = 30.0
    t = np.arange(20) / rate
    x = (3 * t ** 2 + 2 * t)[:, None]
    v = velocity(x, 5, rate)
    assert np.isnan(v[:2]).all() and np.isnan(v[-2:]).all()
    assert np.allclose(v[2:-2, 0], 6 * t[2:-2] + 2)


def test_render_parameters_are_checked():
    with pytest.raises(ValueError):
        StepParams(render_window_ms=0.0)
    with pytest.raises(ValueError):
        StepParams(ground_to_ms=300.0, render_lookahead_ms=250.0)
    with pytest.raises(ValueError):
        StepParams(stop_hold_ms=300.0, render_lookahead_ms=250.0)


@pytest.mark.parametrize("lag", [0, 1, 2, 3])
def test_lagged_estimates_use_no_later_samples_than_allowed(lag):
    rate = 30.0
    t = np.arange(20) / rate
    x = (3 * t ** 2 + 2 * t + 1)[:, None]
    v = velocity(x, 5, rate, lag)
    s = smooth(x, 5, lag)
    valid = slice(4 - lag, 20 - lag)
    assert np.allclose(v[valid, 0], 6 * t[valid] + 2)  # a quadratic is fitted exactly from any window position
    assert np.allclose(s[:, 0], x[:, 0])
    assert np.isnan(v[:4 - lag]).all() and np.isnan(v[20 - lag:]).all()
    # changing a sample changes no estimate more than `lag` samples before it
    bumped = x.copy()
    bumped[12] += 1.0
    changed = np.flatnonzero(~np.isclose(velocity(bumped, 5, rate, lag)[:, 0], v[:, 0], equal_nan=True))
    assert changed.min() == 12 - lag


def test_stance_foot_ground_is_the_foot_moving_backwards():
    n = 10
    direction = np.tile([1.0, 0.0], (n, 1))
    feet = np.zeros((n, 2, 2))
    feet[:, 0] = (-1.2, 0.1)  # on the ground: moves back relative to the hips at walking speed
    feet[:, 1] = (2.5, -0.4)  # swinging forward
    feet[5:, 0], feet[5:, 1] = (2.4, -0.3), (-1.2, 0.1)  # the feet change roles half way
    assert stance_foot_ground(feet, direction) == pytest.approx([-1.2, 0.1])
    assert stance_foot_ground(np.full((3, 2, 2), np.nan), direction[:3]) is None


def test_landing_ahead_extends_the_slowing_in_a_straight_line():
    ground = np.array([-1.0, 0.0])
    speeds = np.array([5.0, 4.0, 3.0, 2.0])  # relative to the ground, slowing by 1 leg/s per sample
    heel = ground + np.stack([speeds, np.zeros(4)], axis=1)
    toe = heel + (0.0, 3.0)  # the toe is faster: the heel decides
    assert landing_ahead(heel, toe, ground, 3, speed=1.1, ahead=1.0) == pytest.approx(3.9)
    assert landing_ahead(heel, toe, ground, 3, speed=1.1, ahead=0.8) is None  # too far ahead to predict
    assert landing_ahead(heel, toe, ground, 2, speed=1.1, ahead=1.0) is None  # 1.9 samples away
    assert landing_ahead(heel[::-1], toe[::-1], ground, 3, speed=1.1, ahead=9.0) is None  # speeding up
    assert landing_ahead(heel, toe, ground, 3, speed=2.5, ahead=1.0) is None  # already down: landing_index's case
    assert landing_ahead(heel, toe, ground, 0, speed=1.1, ahead=1.0) is None  # no sample before to slow from


def test_live_steps_come_within_the_causal_delay(samples):
    params = StepParams(mode="live")
    events = run(samples, "live")
    assert events
    # a landing seen (or predicted) once the peak is confirmed, as early as the search allows; or the fallback once
    # the newest foot velocity is past the wait
    lag_frames = round(params.live_velocity_lag_ms * 1e6 / FRAME_NS)
    seen = (round(params.live_peak_lag_ms * 1e6 / FRAME_NS) + 1 + 1) * FRAME_NS + (
        params.landing_search_before_ms - params.live_landing_offset_ms) * 1e6
    overdue = (lag_frames + 1) * FRAME_NS + (
        params.live_landing_after_ms - params.contact_offset_ms) * 1e6
    assert max(e.delay_ns for e in events) <= max(seen, overdue)
    # most steps are emitted with their landing, well before the velocity window could confirm it
    delays = sorted(e.delay_ns for e in events)
    assert delays[len(delays) // 2] <= lag_frames * FRAME_NS


def test_predictive_live_steps_come_as_their_peak_is_confirmed(scene, samples):
    waiting, predicted = run(samples, "live"), run(samples, "live", live_predict=True)
    contacts = [c for c in scene.contacts() if c.on_screen]
    hits, misses, false = match(predicted, contacts, 2.0 * FRAME_NS)
    assert hits >= 0.9 * len(contacts) and false <= 1, (hits, misses, false)
    params = StepParams(mode="live")
    # the frame after the peak confirms it; the contact is placed contact_offset_ms after the peak
    confirm = (round(params.live_peak_lag_ms * 1e6 / FRAME_NS) + 1 + 0.5) * FRAME_NS
    assert max(e.delay_ns for e in predicted) <= confirm
    median = sorted(e.delay_ns for e in predicted)[len(predicted) // 2]
    assert median < sorted(e.delay_ns for e in waiting)[len(waiting) // 2] - FRAME_NS / 2


def _standing_pose(right_heel_x: float, right_lift: float = 0.0) -> np.ndarray:
    """A person facing left (toes towards -x) standing with the left heel at x = 0.48 and the right at
    `right_heel_x`, its foot `right_lift` above the floor, in a 1280x720 frame."""
    lm = np.zeros((NUM_LANDMARKS, 4), np.float32)
    lm[:, 3] = 1.0
    lm[:, :2] = (0.5, 0.3)  # head and arms: nothing the detector reads
    for hip, knee, ankle, heel, toe, x, lift in ((23, 25, 27, 29, 31, 0.48, 0.0),
                                                 (24, 26, 28, 30, 32, right_heel_x, right_lift)):
        lm[hip, :2] = (0.5, 0.5)
        lm[knee, :2] = ((0.5 + x) / 2, 0.65 - lift / 2)
        lm[ankle, :2] = (x + 0.005, 0.8 - lift)
        lm[heel, :2] = (x, 0.81 - lift)
        lm[toe, :2] = (x - 0.03, 0.815 - lift)
    return lm


def _closing_step_samples() -> tuple[list[PoseSample], int]:
    """A person stands with the right foot trailing, brings it forward beside the left over 8 frames and stands:
    the closing step of a stop. Returns the samples and the frame at which the right foot comes to rest."""
    rng = np.random.default_rng(3)
    xs = [0.56] * 30 + list(0.56 - 0.07 * (1 - np.cos(np.linspace(0, np.pi, 9)[1:])) / 2) + [0.49] * 40
    lifts = [0.0] * 30 + list(0.02 * np.sin(np.linspace(0, np.pi, 9)[1:])) + [0.0] * 40
    samples = []
    for i, (x, lift) in enumerate(zip(xs, lifts)):
        lm = _standing_pose(x, lift)
        lm[:, :2] += rng.normal(0, 0.0005, (NUM_LANDMARKS, 2))
        samples.append(PoseSample(i, int(i * FRAME_NS), 1280, 720, (PersonPose(0, lm),)))
    return samples, 37


@pytest.mark.parametrize("mode", ["render", "live"])
def test_the_closing_step_of_a_stop_is_found(mode):
    samples, rest = _closing_step_samples()
    events = run(samples, mode)
    assert [e.foot for e in events] == ["right"]
    assert abs(events[0].t_ns - rest * FRAME_NS) <= 1.0 * FRAME_NS


def test_a_foot_held_up_is_no_closing_step():
    samples, _ = _closing_step_samples()
    held = [dataclasses.replace(s, persons=(PersonPose(0, _standing_pose(0.49, 0.05)),)) if i >= 38 else s
            for i, s in enumerate(samples)]
    for mode in ("render", "live"):
        assert run(held, mode) == []


def test_closing_foot_needs_a_rise_then_rest_beside_the_other():
    k = 10
    rest = np.zeros((14, 2))
    lead = rest.copy()
    lead[:k, 1] = np.linspace(-0.5, -0.1, k)  # the right foot comes forward and rests from k on
    height = np.ones((14, 2))
    assert closing_foot(lead, height, k, 0.15, 0.04, 0.08) == (1, pytest.approx(0.5), 0)
    assert closing_foot(lead, height, k + 1, 0.15, 0.04, 0.08) is None  # already at rest a sample earlier
    assert closing_foot(lead * 0.25, height, k, 0.15, 0.04, 0.08) is None  # came forward too little
    overshoot = lead.copy()
    overshoot[k - 3, 1] = 0.2  # it led and came back: the heel-lead peak's step, not a closing one
    assert closing_foot(overshoot, height, k, 0.15, 0.04, 0.08) is None
    moving = lead.copy()
    moving[k:, 0] = np.linspace(0, -0.2, 14 - k)  # the other foot moves: the body has not stopped
    assert closing_foot(moving, height, k, 0.15, 0.04, 0.08) is None
    lifted = height.copy()
    lifted[:, 1] -= 0.1  # held up, not set down
    assert closing_foot(lead, lifted, k, 0.15, 0.04, 0.08) is None


def test_damp_lateral_scales_only_the_horizontal_part_across_the_travel():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(6, 4, 3))
    direction = np.tile([0.6, 0.3, 0.8], (6, 1))  # a screen-velocity heading may carry a vertical part
    out = damp_lateral(v, direction, 0.25)
    horizontal = np.array([0.6, 0.0, 0.8])
    across = np.array([-0.8, 0.0, 0.6])
    assert np.allclose(out @ horizontal, v @ horizontal)
    assert np.allclose(out[..., 1], v[..., 1])
    assert np.allclose(out @ across, 0.25 * (v @ across))
    assert np.allclose(damp_lateral(v, direction, 1.0), v)


def test_feet_are_measured_in_the_tracks_leg_length():
    frame = body_frame(PersonPose(0, _standing_pose(0.56)), 1280, 720)
    scaled = frame.in_legs_of(2 * frame.leg_px)
    assert np.allclose(scaled.points[:, :2], frame.points[:, :2] / 2)
    assert np.array_equal(scaled.points[:, 2], frame.points[:, 2])
    assert scaled.leg_px == 2 * frame.leg_px



def test_gait_follows_the_cadence():
    from footfall.sources.procedural_walkers import WalkerSpec
    walkers = (WalkerSpec(1, -0.1, 1.1, 1.5, 1.3, 105.0, 0.0), WalkerSpec(2, 1.1, -0.1, 1.5, 3.0, 170.0, 0.0))
    events = run(list(ProceduralWalkers(WalkerSceneParams(walkers=walkers, duration_s=6.0)).samples()), "render")
    slow = [e.gait for e in events if e.track_id == 1]
    fast = [e.gait for e in events if e.track_id == 2]
    assert len(slow) >= 6 and len(fast) >= 6
    assert set(slow) == {"walk"}  # 105 steps a minute: 571 ms apart
    assert fast[:2] == ["walk", "walk"] and set(fast[2:]) == {"run"}  # 170: 353 ms apart, known from the third step
