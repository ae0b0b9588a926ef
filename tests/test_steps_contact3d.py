"""The causal 3-D contact detector against the motion-capture contact rule, at 30, 60 and 120 fps."""
import numpy as np
import pytest

from footfall.engine.evaluation.bvh import parse_bvh, world_positions
from footfall.engine.evaluation.mocap_contacts import contacts_from_positions
from footfall.engine.evaluation.projection import joint_roles
from footfall.engine.messages import NS_PER_S, CharacterJoints, SkeletonSample
from footfall.engine.skeletons import FOOT_ROLES
from footfall.engine.steps.contact3d import Contact3DParams, ContactDetector3D
from footfall.engine.streams import skeleton_stream
from skeleton_media import bvh_text, walk_feet
from test_skeletons import scheme_names

FOOT_INDEX = dict(zip(FOOT_ROLES, range(4)))


def run(detector, samples):
    out = []
    for s in samples:
        out += [(e, s.t_ns) for e in detector.push(s)]
    return out


@pytest.mark.parametrize("fps", [30, 60, 120])
def test_bvh_walk_matches_the_contact_rule_within_a_frame(fps):
    motion = parse_bvh(bvh_text(scheme_names("unreal"), walk_feet(fps), fps, root="pelvis"))
    assert motion.fps == fps
    positions = world_positions(motion)
    roles = joint_roles(motion, FOOT_ROLES)
    truth = contacts_from_positions(positions, roles, motion.fps)
    feet = positions[:, [roles[r] for r in FOOT_ROLES]]
    found = run(ContactDetector3D(), skeleton_stream(feet, fps))
    end = (feet.shape[0] - 1) * NS_PER_S / fps
    found = [(e, at) for e, at in found if e.t_ns < end - 0.1 * NS_PER_S]  # the truth drops a stance cut by the end
    assert len(truth) == len(found) == 9
    frame = NS_PER_S / fps
    for c, (e, emitted) in zip(truth, found):
        assert e.foot == c.foot
        assert abs(e.t_ns - c.t_ns) <= frame
        assert 0 <= emitted - e.t_ns <= frame  # emitted on the frame it lands
        assert e.delay_ns == emitted - e.t_ns


def test_ground_given_in_the_message_is_the_same_walk_on_a_raised_floor():
    feet = walk_feet(60)
    flat = run(ContactDetector3D(), skeleton_stream(feet, 60))
    raised = feet + np.array([0.0, 3.0, 0.0])
    samples = [SkeletonSample(s.t_ns, (CharacterJoints(0, s.characters[0].feet, ground_y=3.0),))
               for s in skeleton_stream(raised, 60)]
    lifted = run(ContactDetector3D(), samples)
    assert [(e.t_ns, e.foot) for e, _ in lifted] == [(e.t_ns, e.foot) for e, _ in flat]


def test_characters_are_independent_and_the_watermark_waits_for_the_slowest():
    d = ContactDetector3D()
    feet = walk_feet(30, 2.0)
    a, b = list(skeleton_stream(feet, 30, track_id=1)), list(skeleton_stream(feet, 30, track_id=2))
    events = []
    for i in range(len(a)):
        events += d.push(a[i])
        assert d.watermark_ns() == (b[i - 1].t_ns if i else a[0].t_ns)
        events += d.push(b[i])
        assert d.watermark_ns() == b[i].t_ns
    ones = [(e.t_ns, e.foot) for e in events if e.track_id == 1]
    assert ones and ones == [(e.t_ns, e.foot) for e in events if e.track_id == 2]


def test_no_step_comes_before_the_watermark():
    d = ContactDetector3D()
    mark = -(2**62)
    for s in skeleton_stream(walk_feet(30), 30):
        for e in d.push(s):
            assert e.t_ns >= mark
        mark = d.watermark_ns()


def test_time_going_back_starts_the_character_afresh_and_a_gone_one_stops_holding_back():
    d = ContactDetector3D()
    feet = walk_feet(30, 2.0)
    first = [e for s in skeleton_stream(feet, 30) for e in d.push(s)]
    again = [e for s in skeleton_stream(feet, 30) for e in d.push(s)]  # a second take from t = 0
    assert [(e.t_ns, e.foot) for e in again] == [(e.t_ns, e.foot) for e in first]
    later = SkeletonSample(10 * NS_PER_S, (CharacterJoints(7, feet[0]),))
    d.push(later)
    assert d.watermark_ns() == later.t_ns  # character 0 has been silent for 8 s


def test_standing_still_makes_no_steps():
    feet = np.repeat(walk_feet(30, 0.1)[:1], 90, axis=0)
    assert run(ContactDetector3D(), skeleton_stream(feet, 30)) == []


@pytest.mark.parametrize("kwargs", [dict(height_m=0), dict(release=0.5), dict(rest_percentile=80),
                                    dict(speed_extrapolation=2.0), dict(forget_ms=10.0), dict(history_frames=1)])
def test_bad_parameters_are_refused(kwargs):
    with pytest.raises(ValueError):
        Contact3DParams(**kwargs)


def test_eval_scores_the_detector_on_a_mocap_folder(tmp_path):
    from footfall.engine.cli import main

    (tmp_path / "takes").mkdir()
    (tmp_path / "takes" / "walk.bvh").write_text(bvh_text(scheme_names("cmu"), walk_feet(30), 30))
    out = tmp_path / "figures.json"
    import json

    assert main(["eval", "--mocap", str(tmp_path / "takes"), "--skeleton3d", "--fps", "30,60",
                 "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["f1"] >= 0.9 and doc["median_delay_ms"] <= 1000 / 30
    assert set(doc["cases"]) == {"walk/3d/30fps", "walk/3d/60fps"}


def test_percentile_matches_numpy():
    from footfall.engine.steps.contact3d import _percentile

    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 17, 600):
        rows = rng.normal(size=(n, 8))
        for q in (0.0, 5.0, 50.0, 100.0):
            np.testing.assert_allclose(_percentile(rows, q), np.percentile(rows, q, axis=0))
