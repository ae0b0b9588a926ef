"""Hostile and malformed messages: the intake and the control parser refuse them with a reason and keep counting.

Property-based (hypothesis): whatever bytes or JSON arrive, the only outcome is an item or a ProtocolError, and the
counters account for every message.
"""
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footfall.engine.messages import CharacterEnd, SkeletonSample
from footfall.engine.serve.intake import IntakeLimits, PoseIntake
from footfall.engine.serve.protocol import ProtocolError, decode, parse_control
from footfall.engine.skeletons import load_schemes

SCHEMES = load_schemes()
BONES = ["Hips", "LeftAnkle", "LeftToe", "RightAnkle", "RightToe"]


def message(**doc) -> bytes:
    return json.dumps({"v": 1, **doc}).encode()


def described(limits=IntakeLimits()) -> PoseIntake:
    intake = PoseIntake(SCHEMES, limits)
    intake.accept(message(type="skeleton", character="hero", bones=BONES), 0.0)
    return intake


def frame(t_ns=0, **extra) -> bytes:
    return message(type="frame", character="hero", t_ns=t_ns, joints=[[0, 1, 0], [0.1, 0.08, 0], [0.1, 0.03, 0.15],
                                                                       [-0.1, 0.08, 0], [-0.1, 0.03, 0.15]], **extra)


def accounted(intake: PoseIntake) -> bool:
    c = intake.counters
    reasons = sum(v for k, v in c.items() if k.startswith("invalid."))
    return c["received"] == c["frames"] + c["skeletons"] + c["ends"] + c["invalid"] and reasons == c["invalid"]


def test_a_frame_becomes_the_feet_in_metres_y_up():
    intake = described()
    item = intake.accept(frame(5), 0.0)
    assert isinstance(item, SkeletonSample) and item.t_ns == 5
    np.testing.assert_allclose(item.characters[0].feet, [[0.1, 0.08, 0], [0.1, 0.03, 0.15], [-0.1, 0.08, 0],
                                                         [-0.1, 0.03, 0.15]])


def test_z_up_centimetres_and_joints_by_name():
    intake = PoseIntake(SCHEMES)
    intake.accept(message(type="skeleton", character="ue", bones=["pelvis", "foot_l", "ball_l", "foot_r", "ball_r"],
                          up="z", units_m=0.01), 0.0)
    joints = {"foot_l": [10, 0, 8], "ball_l": [10, 15, 3], "foot_r": [-10, 0, 8], "ball_r": [-10, 15, 3], "x": 1}
    item = intake.accept(message(type="frame", character="ue", time_s=1.5, joints=joints, ground=2.0), 0.0)
    np.testing.assert_allclose(item.characters[0].feet[1], [0.1, 0.03, -0.15])
    assert item.t_ns == 1_500_000_000 and item.characters[0].ground_y == pytest.approx(0.02)


def test_smpl_joints_by_order_and_an_end():
    intake = PoseIntake(SCHEMES)
    intake.accept(message(type="skeleton", character="amass", scheme="smpl"), 0.0)
    item = intake.accept(message(type="frame", character="amass", t_ns=0, joints=[[i, 0, 0] for i in range(24)]), 0)
    assert item.characters[0].feet[:, 0].tolist() == [7, 10, 8, 11]
    end = intake.accept(message(type="end", character="amass"), 0.0)
    assert isinstance(end, CharacterEnd) and end.name == "amass"


@pytest.mark.parametrize("data, reason", [
    (b"\x80\x04pickle", "not_json"),
    (b"[1, 2]", "not_object"),
    (b'{"type": "frame"}', "bad_version"),
    (message(type="dance", character="hero"), "bad_type"),
    (message(type="frame", character="villain", t_ns=0, joints=[]), "unknown_character"),
    (frame(-1), "bad_time"),
    (frame(2**70), "bad_time"),
    (message(type="frame", character="hero", t_ns=0, joints=[[0, 0, 0]]), "bad_joints"),
    (message(type="frame", character="hero", t_ns=0, joints=[["a", 0, 0]] * 5), "bad_joints"),
    (frame(0, screen={"x": 3}), "bad_screen"),
    (message(type="skeleton", character="x" * 65, bones=BONES), "bad_character"),
    (message(type="skeleton", character="robot", bones=["a", "b"]), "unmapped_skeleton"),
    (message(type="skeleton", character="robot", bones=BONES, units_m=float("1e9")), "bad_units_m"),
    (b"{" * 100_000, "not_json"),
    (b" " * 2_000, "too_large"),
    (b'{"v": 1, "type": "frame", "character": "hero", "t_ns": ' + b"9" * 5000 + b"}", "not_json"),
    (message(type="frame", character="hero", t_ns=0, joints=[[10**400, 0, 0]] * 5), "bad_joints"),
])
def test_invalid_messages_have_reasons(data, reason):
    intake = described(IntakeLimits(max_message_bytes=1_000 if reason == "too_large" else 1_048_576))
    with pytest.raises(ProtocolError) as err:
        intake.accept(data, 0.0)
    assert err.value.reason == reason
    assert intake.counters[f"invalid.{reason}"] == 1 and accounted(intake)


def test_nan_and_infinity_are_refused():
    intake = described()
    with pytest.raises(ProtocolError):
        intake.accept(frame(0).replace(b"0.08", b"NaN"), 0.0)
    with pytest.raises(ProtocolError):
        intake.accept(frame(0).replace(b"0.08", b"Infinity"), 0.0)


def test_per_character_rate_limit_refuses_the_excess_and_recovers():
    intake = described(IntakeLimits(rate_limit_hz=10.0, rate_burst=3))
    outcomes = []
    for i in range(5):
        try:
            intake.accept(frame(i), 0.0)
            outcomes.append("ok")
        except ProtocolError as exc:
            outcomes.append(exc.reason)
    assert outcomes == ["ok", "ok", "ok", "rate_limited", "rate_limited"]
    assert intake.accept(frame(9), 0.5) is not None  # 0.5 s later, 5 tokens back
    assert accounted(intake)


def test_character_limit():
    intake = PoseIntake(SCHEMES, IntakeLimits(max_characters=2))
    for name in ("a", "b"):
        intake.accept(message(type="skeleton", character=name, bones=BONES), 0.0)
    with pytest.raises(ProtocolError, match="too_many_characters"):
        intake.accept(message(type="skeleton", character="c", bones=BONES), 0.0)
    intake.accept(message(type="skeleton", character="a", bones=BONES), 0.0)  # describing again is fine
    intake.accept(message(type="end", character="b"), 0.0)  # an end frees its slot
    intake.accept(message(type="skeleton", character="c", bones=BONES), 0.0)
    assert intake.track_id("c") == 2 and intake.name_of(1) == "b"


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner,
                                                                                        max_size=6), max_leaves=30)
fields = st.fixed_dictionaries({}, optional={
    "v": st.sampled_from([1, 1, 1, 2, "1", True, None]),
    "type": st.sampled_from(["frame", "skeleton", "end", "x", 3]),
    "character": st.sampled_from(["hero", "", "x" * 70, 5, "\x00"]) | st.text(max_size=10),
    "t_ns": st.integers() | st.floats(allow_nan=True) | st.booleans(),
    "time_s": st.floats(allow_nan=True, allow_infinity=True),
    "joints": json_values | st.lists(st.lists(st.floats(allow_nan=True) | st.integers(), max_size=5), max_size=8),
    "bones": st.lists(st.text(max_size=12), max_size=8) | json_values,
    "scheme": json_values, "up": json_values, "units_m": json_values, "ground": json_values, "screen": json_values,
    "extra": json_values,
})


def encoded(doc) -> bytes:
    return json.dumps(doc, allow_nan=True).encode()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=64) | fields.map(encoded) | json_values.map(encoded), min_size=1, max_size=20))
def test_any_messages_are_items_or_reasons_and_all_are_counted(batch):
    intake = described()
    for data in batch:
        try:
            item = intake.accept(data, 0.0)
        except ProtocolError as exc:
            assert exc.reason and "\n" not in str(exc)
            continue
        assert item is None or isinstance(item, (SkeletonSample, CharacterEnd))
        if isinstance(item, SkeletonSample):
            assert np.isfinite(item.characters[0].feet).all()
    assert accounted(intake)
    intake.accept(message(type="skeleton", character="hero", bones=BONES), 0.0)  # (a fuzzed end may have freed it)
    assert intake.accept(frame(1), 0.0) is not None  # and the valid character still streams


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64) | json_values.map(encoded) | st.fixed_dictionaries({"v": st.just(1)}, optional={
    "cmd": st.sampled_from(["set", "status", "ping", "echo", "shutdown", "rm -rf"]), "character": json_values,
    "surface": json_values, "footwear": json_values, "gain_db": json_values, "bank": json_values,
    "token": json_values}).map(encoded))
def test_control_requests_parse_or_give_a_reason(data):
    try:
        request = parse_control(decode(data, 65_536))
    except ProtocolError as exc:
        assert exc.reason
        return
    assert request.cmd in ("set", "status", "ping", "echo", "shutdown")
