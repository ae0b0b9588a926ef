"""docs/protocol.md stays true: every example validates against docs/protocol.schema.json, and the pose and control
examples are accepted by the service's own parsers."""
import json
import re
from pathlib import Path

import jsonschema
import pytest

from footfall.engine.serve.intake import PoseIntake
from footfall.engine.serve.protocol import decode, parse_control, parse_picture_header
from footfall.engine.skeletons import load_schemes

DOCS = Path(__file__).resolve().parent.parent / "docs"
SCHEMA = json.loads((DOCS / "protocol.schema.json").read_text())
EXAMPLES = [json.loads(block) for block in re.findall(r"```json\n(.*?)```", (DOCS / "protocol.md").read_text(),
                                                      re.S)]


def kind(doc: dict) -> str:
    if "type" in doc and "format" in doc:
        return "picture_header"
    if "type" in doc:
        return "pose_message"
    if "cmd" in doc:
        return "control_request"
    if "ok" in doc:
        return "control_reply"
    if "foot" in doc:
        return "step"
    if "kind" in doc:
        return "status"
    if "format" in doc:
        return "audio_header"
    return "scene"


def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**SCHEMA, "$ref": f"#/$defs/{name}"})


def test_the_schema_is_a_valid_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert len(EXAMPLES) >= 12


@pytest.mark.parametrize("doc", EXAMPLES, ids=lambda d: kind(d))
def test_each_example_matches_the_schema(doc):
    if kind(doc) == "scene":
        assert set(doc) == {"v", "t_ns", "character", "surface", "footwear", "gain_db"}
        return
    validator(kind(doc)).validate(doc)


def test_pose_examples_are_accepted_in_order():
    intake = PoseIntake(load_schemes())
    for doc in EXAMPLES:
        if kind(doc) == "pose_message":
            intake.accept(json.dumps(doc).encode(), 0.0)
    assert intake.counters["invalid"] == 0 and intake.counters["frames"] == 2


def test_picture_header_examples_parse():
    headers = [parse_picture_header(decode(json.dumps(d).encode(), 65536), 1920) for d in EXAMPLES
               if kind(d) == "picture_header"]
    assert [(h.format, h.width, h.height) for h in headers] == [("jpeg", 1280, 720), ("rgb24", 640, 360)]
    assert headers[1].t_ns == 1_033_333_333


def test_control_examples_parse():
    requests = [parse_control(decode(json.dumps(d).encode(), 65536)) for d in EXAMPLES if kind(d) == "control_request"]
    assert [r.cmd for r in requests] == ["set", "set", "set", "status", "echo"]
    assert (requests[2].character, requests[2].bank) == ("robot", "/path/to/metal_feet_bank")  # a character's bank


def test_bad_messages_fail_the_schema_too():
    with pytest.raises(jsonschema.ValidationError):
        validator("pose_message").validate({"v": 2, "type": "frame", "character": "x", "t_ns": 0, "joints": []})
    with pytest.raises(jsonschema.ValidationError):
        validator("control_request").validate({"v": 1, "cmd": "format_disk"})
    with pytest.raises(jsonschema.ValidationError):
        validator("picture_header").validate({"v": 1, "type": "frame", "t_ns": 0, "format": "png", "width": 8,
                                              "height": 8})
