"""Scoring detected steps against true steps.

Matching is one-to-one and optimal: the largest number of (truth, detection) pairs closer than the tolerance, and
among those the smallest total |time error| (Hungarian assignment). Figures pool counts and errors over cases (a case
with 40 steps weighs four times one with 10), never averaging per-case F1s.

Definitions (times in ms in the output):
- error = detected contact time - true contact time, over matched pairs (signed; abs for the abs figures).
- delay = media time of the frame whose processing emitted the event - true contact time, over matched pairs:
  how late the sound can start at best.
- foot_accuracy: share of matched pairs with the right foot, where the truth says left/right. For alternating A/B
  labels the mapping is unknown, so foot_consistency is the share under the better of A=left / A=right per case.
- idle time: the parts of a case farther than `idle_gap` from every true step (nobody is walking);
  false_steps_per_min counts detections there per minute of idle time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from footfall.engine.evaluation.labels import TruthStep
from footfall.engine.messages import NS_PER_S, StepEvent


@dataclass(frozen=True)
class Detection:
    """A detected step: contact time, foot, and the media time of the frame at which it was emitted."""

    t_ns: int
    foot: str
    emitted_ns: int

    @classmethod
    def from_event(cls, event: StepEvent, emitted_ns: int | None = None) -> "Detection":
        return cls(event.t_ns, event.foot, event.t_ns + event.delay_ns if emitted_ns is None else emitted_ns)


@dataclass(frozen=True)
class MatchParams:
    tolerance_ns: int
    idle_gap_ns: int = 2 * NS_PER_S

    def __post_init__(self) -> None:
        if self.tolerance_ns < 0 or self.idle_gap_ns <= 0:
            raise ValueError("tolerance must be >= 0 and idle_gap > 0")


def tolerance_ns(frame_period_ns: int, frames: float | None = None, ms: float | None = None) -> int:
    """Match tolerance: `ms` when given, else `frames` frames (default 1) of the case's frame period."""
    if ms is not None:
        return int(round(ms * 1e6))
    return int(round((1.0 if frames is None else frames) * frame_period_ns))


def match(truth_ns: Sequence[int], detected_ns: Sequence[int], tolerance: int) -> list[tuple[int, int]]:
    """Optimal one-to-one pairs (truth index, detection index) with |dt| <= tolerance, sorted by truth index."""
    if not len(truth_ns) or not len(detected_ns):
        return []
    dt = np.abs(np.asarray(detected_ns, dtype=np.float64)[None, :] - np.asarray(truth_ns, dtype=np.float64)[:, None])
    allowed = dt <= tolerance
    # Every allowed pair costs less than any unmatched alternative: more pairs always win, then less total error.
    bonus = (tolerance + 1.0) * (min(dt.shape) + 1)
    cost = np.where(allowed, dt - bonus, 0.0)
    from scipy.optimize import linear_sum_assignment  # here: the import costs 0.45 s every command would pay

    rows, cols = linear_sum_assignment(cost)
    return sorted((int(r), int(c)) for r, c in zip(rows, cols) if allowed[r, c])


def idle_intervals(truth_ns: Sequence[int], start_ns: int, end_ns: int, gap_ns: int) -> list[tuple[int, int]]:
    """Intervals of [start, end) farther than gap from every true step."""
    busy = sorted((t - gap_ns, t + gap_ns) for t in truth_ns)
    out, cursor = [], start_ns
    for a, b in busy:
        if a > cursor:
            out.append((cursor, min(a, end_ns)))
        cursor = max(cursor, b)
    if cursor < end_ns:
        out.append((cursor, end_ns))
    return [(a, b) for a, b in out if b > a]


@dataclass(frozen=True)
class CaseResult:
    """Everything needed to score one case and to pool it with others."""

    name: str
    truth: tuple[TruthStep, ...]
    detections: tuple[Detection, ...]
    pairs: tuple[tuple[int, int], ...]
    tolerance_ns: int
    duration_ns: int
    idle_ns: int
    idle_detections: int


def evaluate_case(name: str, truth: Sequence[TruthStep], detections: Sequence[Detection], params: MatchParams,
                  start_ns: int = 0, end_ns: int | None = None) -> CaseResult:
    """Match and score one case; [start_ns, end_ns) is the span the detector saw (for idle time)."""
    truth = tuple(sorted(truth, key=lambda s: s.t_ns))
    detections = tuple(sorted(detections, key=lambda d: d.t_ns))
    if end_ns is None:
        end_ns = max([s.t_ns for s in truth] + [d.t_ns for d in detections] + [start_ns])
    pairs = match([s.t_ns for s in truth], [d.t_ns for d in detections], params.tolerance_ns)
    idle = idle_intervals([s.t_ns for s in truth], start_ns, end_ns, params.idle_gap_ns)
    idle_count = sum(1 for d in detections if any(a <= d.t_ns < b for a, b in idle))
    return CaseResult(name, truth, detections, tuple(pairs), params.tolerance_ns, end_ns - start_ns,
                      sum(b - a for a, b in idle), idle_count)


def _stat(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def _foot_counts(result: CaseResult) -> tuple[int, int, int, int]:
    """(correct, total) where the truth has left/right, then (best consistent, total) for alternating labels."""
    correct = known = 0
    same = other = labelled = 0
    for ti, di in result.pairs:
        truth, det = result.truth[ti], result.detections[di]
        if truth.side_known:
            known += 1
            correct += truth.foot == det.foot
        elif truth.foot:
            labelled += 1
            # mapping "first label seen in the case = left"
            first = result.truth[0].foot
            as_left = (truth.foot == first) == (det.foot == "left")
            same += as_left
            other += not as_left
    return correct, known, max(same, other), labelled


def figures(results: Iterable[CaseResult]) -> dict:
    """Pooled figures over the given cases (one case gives that case's figures)."""
    results = list(results)
    n_truth = sum(len(r.truth) for r in results)
    n_det = sum(len(r.detections) for r in results)
    tp = sum(len(r.pairs) for r in results)
    errors = [(r.detections[d].t_ns - r.truth[t].t_ns) / 1e6 for r in results for t, d in r.pairs]
    delays = [(r.detections[d].emitted_ns - r.truth[t].t_ns) / 1e6 for r in results for t, d in r.pairs]
    abs_errors = [abs(e) for e in errors]
    feet = [_foot_counts(r) for r in results]
    precision, recall = _ratio(tp, n_det), _ratio(tp, n_truth)
    f1 = _ratio(2 * tp, n_det + n_truth)
    idle_min = sum(r.idle_ns for r in results) / (60 * NS_PER_S)
    return {
        "n_truth": n_truth,
        "n_detected": n_det,
        "true_positives": tp,
        "false_positives": n_det - tp,
        "false_negatives": n_truth - tp,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "median_error_ms": _stat(errors, 50),
        "p95_error_ms": _stat(errors, 95),
        "median_abs_error_ms": _stat(abs_errors, 50),
        "p95_abs_error_ms": _stat(abs_errors, 95),
        "median_delay_ms": _stat(delays, 50),
        "p95_delay_ms": _stat(delays, 95),
        "foot_accuracy": _ratio(sum(f[0] for f in feet), sum(f[1] for f in feet)),
        "foot_consistency": _ratio(sum(f[2] for f in feet), sum(f[3] for f in feet)),
        "idle_s": idle_min * 60,
        "false_steps_per_min": _ratio(sum(r.idle_detections for r in results), idle_min) if idle_min > 0 else None,
        "tolerance_ms": _stat([r.tolerance_ns / 1e6 for r in results], 50),
    }


def report(results: Sequence[CaseResult]) -> dict:
    """The JSON document: pooled figures at the top level and each case's figures under `cases`."""
    doc = figures(results)
    doc["cases"] = {r.name: figures([r]) for r in results}
    return doc
