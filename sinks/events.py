"""Step events to JSON or CSV, for editors, spreadsheets and evaluation.

JSON is a single document ({"version": 1, "events": [...], "summary": {...}}), so it is written whole, atomically
(temporary file, then rename): once when the sink is made (an empty, valid document; also proves the path is
writable), then on close or abort. An interrupted run therefore always leaves valid JSON. CSV is a header and one row
per event, flushed as each event arrives.
"""
from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import TextIO

from footfall.engine.messages import StepEvent
from footfall.sinks.errors import SinkError, describe

EVENTS_FORMAT_VERSION = 1
EVENT_FIELDS = ("time_s", "t_ns", "track_id", "foot", "x", "y", "depth", "intensity", "confidence", "delay_ms",
                "gait")


def write_atomically(path: Path, text: str) -> None:
    """Replaces `path` with `text` in one rename, so readers never see half a file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class EventSink:
    """StepEvents to .json or .csv (by suffix)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.format = self.path.suffix.lower().lstrip(".")
        if self.format not in ("json", "csv"):
            raise SinkError(self.path, f"unsupported events file type '{self.path.suffix}' (use .json or .csv)")
        self.events_written = 0
        self._json_events: list[dict] = []  # JSON only: the document is rewritten whole
        self._closed = False
        self._csv_file: TextIO | None = None
        try:
            if self.format == "json":
                self._write_json(None)
            else:
                self._csv_file = open(self.path, "w", newline="", encoding="utf-8")
                self._csv = csv.DictWriter(self._csv_file, fieldnames=EVENT_FIELDS)
                self._csv.writeheader()
                self._csv_file.flush()
        except OSError as exc:
            raise SinkError(self.path, f"cannot write: {describe(exc)}") from None

    def write(self, event: StepEvent) -> None:
        if self._closed:
            raise SinkError(self.path, "write after close")
        row = event.to_dict()
        self.events_written += 1
        if self._csv_file is None:
            self._json_events.append(row)
        else:
            try:
                self._csv.writerow(row)
                self._csv_file.flush()
            except OSError as exc:
                raise SinkError(self.path, f"write failed: {describe(exc)}") from None

    def close(self, summary: dict | None = None) -> None:
        """Finishes the file. `summary` goes into the JSON document (CSV has no place for it)."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._csv_file is not None:
                self._csv_file.close()
            else:
                self._write_json(summary)
        except (OSError, TypeError, ValueError) as exc:
            raise SinkError(self.path, f"cannot finish file: {describe(exc)}") from None

    def abort(self) -> None:
        """Cancel: the events so far, in a valid file, with no summary."""
        self.close(None)

    def _write_json(self, summary: dict | None) -> None:
        document = {"version": EVENTS_FORMAT_VERSION, "events": self._json_events, "summary": summary}
        write_atomically(self.path, json.dumps(document, indent=1) + "\n")
