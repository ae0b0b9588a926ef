"""The serve benchmarks' parts that need no second process: the hostile message generator against the intake
(the fuzzing benchmark in miniature), and the benchmarks themselves end to end (slow)."""
import random

import pytest

from footfall.engine.serve.bench import BONES, fuzz, hostile_messages, latency
from footfall.engine.serve.intake import IntakeLimits, PoseIntake
from footfall.engine.serve.protocol import ProtocolError
from footfall.engine.skeletons import load_schemes


def test_hostile_messages_are_all_refused_or_harmless_and_all_counted():
    intake = PoseIntake(load_schemes(), IntakeLimits(max_message_bytes=65_536))
    messages = list(hostile_messages(random.Random(1), 3_000, 65_536))
    assert messages == list(hostile_messages(random.Random(1), 3_000, 65_536))  # reproducible from its seed
    refused = 0
    for parts in messages:
        try:
            intake.take(parts, 0.0)
        except ProtocolError:
            refused += 1
    c = intake.counters
    assert c["received"] == 3_000 == c["frames"] + c["skeletons"] + c["ends"] + c["invalid"]
    assert c["invalid"] == refused > 2_900
    assert c["ends"] == 0 and "walker" not in intake.characters
    assert {"not_json", "too_large", "bad_parts", "too_many_characters", "unknown_character"} <= {
        k.split(".", 1)[1] for k in c if k.startswith("invalid.")}
    assert BONES[0] == "Hips"


@pytest.mark.slow
def test_the_benchmarks_run():
    row = fuzz(messages=2_000)
    assert row["alive"] and row["accounted"] and row["walker_steps_right"]
    rows = latency(characters=2, fps=30, seconds=2.0, fast_seconds=1.0)
    assert rows["all_steps_right"] and rows["latency_p50_ms"] > 0
