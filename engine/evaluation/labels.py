"""Ground truth steps: hand labels for videos (`<stem>.steps.csv`) and the common truth record all evaluations use.

A labels CSV has the columns frame,time_s,foot,confidence,note. `frame` is the 0-based index of the decoded frame in
which a foot first makes contact; its time is taken from the video's own frame timestamps when they are known
(`retime`), because `time_s` in the file is rounded.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

from footfall.engine.messages import NS_PER_S, PoseSample

LABELS_SUFFIX = ".steps.csv"


@dataclass(frozen=True)
class TruthStep:
    """One true contact. foot: "left"/"right" when known, else an alternating label such as "A"/"B"."""

    frame: int
    t_ns: int
    foot: str
    confidence: str = "high"
    note: str = ""

    @property
    def side_known(self) -> bool:
        return self.foot in ("left", "right")


class LabelsError(ValueError):
    """A labels file is missing or malformed; the message names the file and the line."""


_FOOT_WORDS = {"l": "left", "left": "left", "r": "right", "right": "right"}


def read_labels(path: str | Path) -> list[TruthStep]:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise LabelsError(f"{path}: labels file not found") from None
    rows = csv.DictReader(text.splitlines())
    missing = {"frame", "time_s", "foot"} - set(rows.fieldnames or ())
    if missing:
        raise LabelsError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    steps = []
    for line, row in enumerate(rows, start=2):
        try:
            frame = int(row["frame"])
            t_ns = int(round(float(row["time_s"]) * NS_PER_S))
        except (TypeError, ValueError):
            raise LabelsError(f"{path}:{line}: frame and time_s must be numbers") from None
        foot = (row.get("foot") or "").strip()
        foot = _FOOT_WORDS.get(foot.lower(), foot)
        steps.append(TruthStep(frame, t_ns, foot, (row.get("confidence") or "high").strip(), row.get("note") or ""))
    return sorted(steps, key=lambda s: s.t_ns)


def labels_path(video: str | Path, labels_dir: str | Path) -> Path:
    """`labels_dir/<video stem>.steps.csv`."""
    return Path(labels_dir) / f"{Path(video).stem}{LABELS_SUFFIX}"


def frame_times_from_samples(samples: Sequence[PoseSample]) -> dict[int, int]:
    return {s.frame_index: s.t_ns for s in samples}


def video_frame_times(path: str | Path) -> list[int]:
    """Presentation times (ns) of every frame of the first video stream, in presentation order, from the demuxed
    packets (no decoding)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        base = stream.time_base
        start = stream.start_time or 0
        pts = [p.pts for p in container.demux(stream) if p.pts is not None and p.size > 0]
    return [int((t - start) * base.numerator * NS_PER_S // base.denominator) for t in sorted(pts)]


def retime(steps: Sequence[TruthStep], frame_times_ns: dict[int, int] | Sequence[int]) -> list[TruthStep]:
    """Steps with t_ns replaced by the actual timestamp of their frame, where that frame's time is known."""
    lookup = frame_times_ns if isinstance(frame_times_ns, dict) else dict(enumerate(frame_times_ns))
    return [replace(s, t_ns=lookup[s.frame]) if s.frame in lookup else s for s in steps]
