"""EventSink: JSON always valid (also when interrupted), CSV rows flushed as events arrive."""
from __future__ import annotations

import csv
import json

import pytest

from footfall.engine.messages import StepEvent
from footfall.sinks.errors import SinkError
from footfall.sinks.events import EVENT_FIELDS, EventSink


def step(i: int) -> StepEvent:
    return StepEvent(t_ns=500_000_000 * i + 123, track_id=i % 2, foot="left" if i % 2 else "right", x=0.1 * i,
                     y=0.9, depth=1.5, intensity=0.7, confidence=0.95, delay_ns=66_000_000)


def test_json_holds_events_and_summary(tmp_path):
    path = tmp_path / "steps.json"
    sink = EventSink(path)
    events = [step(i) for i in range(5)]
    for event in events:
        sink.write(event)
    sink.close({"steps": 5, "duration_s": 2.5})
    document = json.loads(path.read_text())
    assert document == {"version": 1, "events": [e.to_dict() for e in events],
                        "summary": {"steps": 5, "duration_s": 2.5}}
    assert sink.events_written == 5


def test_json_is_valid_before_close_and_after_abort(tmp_path):
    path = tmp_path / "steps.json"
    sink = EventSink(path)
    assert json.loads(path.read_text()) == {"version": 1, "events": [], "summary": None}
    sink.write(step(1))
    sink.write(step(2))
    assert json.loads(path.read_text())["events"] == []  # still the last complete document
    sink.abort()
    document = json.loads(path.read_text())
    assert [e["t_ns"] for e in document["events"]] == [step(1).t_ns, step(2).t_ns]
    assert document["summary"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["steps.json"]  # no temporary files left


def test_csv_rows_are_on_disk_as_they_come(tmp_path):
    path = tmp_path / "steps.csv"
    sink = EventSink(path)
    sink.write(step(3))
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    assert tuple(rows[0]) == EVENT_FIELDS
    assert rows[0]["t_ns"] == str(step(3).t_ns) and rows[0]["foot"] == "left"
    sink.write(step(4))
    sink.close({"ignored": True})
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    assert [int(r["t_ns"]) for r in rows] == [step(3).t_ns, step(4).t_ns]
    assert float(rows[1]["time_s"]) == step(4).to_dict()["time_s"]


def test_csv_columns_match_the_event_dict():
    assert tuple(step(0).to_dict()) == EVENT_FIELDS


@pytest.mark.parametrize("name", ["missing/steps.json", "missing/steps.csv", "a-file/steps.json"])
def test_unwritable_path_fails_at_once_with_one_line(tmp_path, name):
    (tmp_path / "a-file").write_text("x")
    path = tmp_path / name
    with pytest.raises(SinkError) as err:
        EventSink(path)
    assert str(err.value).startswith(f"{path}: cannot write") and "\n" not in str(err.value)


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(SinkError, match=r"steps\.txt: unsupported events file type"):
        EventSink(tmp_path / "steps.txt")


def test_write_after_close_is_an_error(tmp_path):
    sink = EventSink(tmp_path / "steps.csv")
    sink.close()
    with pytest.raises(SinkError, match="write after close"):
        sink.write(step(0))
