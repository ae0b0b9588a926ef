"""Matching and figures on hand-built event lists with hand-computed answers."""
import pytest

from footfall.engine.evaluation.labels import TruthStep
from footfall.engine.evaluation.metrics import (Detection, MatchParams, evaluate_case, figures, idle_intervals,
                                                match, report, tolerance_ns)

MS = 1_000_000


def truth(times_ms, feet=None):
    feet = feet or ["left", "right"] * len(times_ms)
    return [TruthStep(i, t * MS, f) for i, (t, f) in enumerate(zip(times_ms, feet))]


def dets(times_ms, feet=None, delay_ms=50):
    feet = feet or ["left", "right"] * len(times_ms)
    return [Detection(t * MS, f, (t + delay_ms) * MS) for t, f in zip(times_ms, feet)]


def test_match_is_optimal_not_greedy():
    # greedy by truth order would pair 100-130 and leave 140 unmatched; the optimum pairs 100-70? no: within 40
    assert match([100, 140], [130, 175], 40) == [(0, 0), (1, 1)]
    # one detection between two truths goes to the nearer one
    assert match([0, 100], [60], 50) == [(1, 0)]
    assert match([], [1], 5) == [] and match([1], [], 5) == []


def test_figures_exact():
    result = evaluate_case("c", truth([1000, 1500, 2000, 2500]),
                           dets([1010, 1480, 2200, 2530], ["left", "right", "left", "left"]),
                           MatchParams(tolerance_ns=40 * MS), 0, 3000 * MS)
    f = figures([result])
    assert (f["true_positives"], f["false_positives"], f["false_negatives"]) == (3, 1, 1)
    assert f["precision"] == pytest.approx(0.75) and f["recall"] == pytest.approx(0.75)
    assert f["f1"] == pytest.approx(0.75)
    # errors +10, -20, +30 ms
    assert f["median_error_ms"] == pytest.approx(10)
    assert f["median_abs_error_ms"] == pytest.approx(20)
    assert f["p95_abs_error_ms"] == pytest.approx(20 + 0.9 * 10)
    # delays: emitted 50 ms after detection: 60, 30, 80 ms after truth
    assert f["median_delay_ms"] == pytest.approx(60)
    assert f["p95_delay_ms"] == pytest.approx(60 + 0.9 * 20)
    assert f["foot_accuracy"] == pytest.approx(2 / 3)
    assert f["foot_consistency"] is None


def test_alternating_labels_score_consistency_under_the_better_mapping():
    t = truth([1000, 1500, 2000], ["A", "B", "A"])
    d = dets([1000, 1500, 2000], ["right", "left", "left"])
    f = figures([evaluate_case("c", t, d, MatchParams(10 * MS))])
    assert f["foot_accuracy"] is None
    assert f["foot_consistency"] == pytest.approx(2 / 3)


def test_pooling_counts_not_mean_of_f1():
    p = MatchParams(10 * MS)
    big = evaluate_case("big", truth(list(range(0, 9000, 1000))), dets(list(range(0, 9000, 1000))), p)
    small = evaluate_case("small", truth([0]), dets([500]), p)
    doc = report([big, small])
    assert doc["cases"]["small"]["f1"] == 0.0 and doc["cases"]["big"]["f1"] == 1.0
    assert doc["f1"] == pytest.approx(2 * 9 / (10 + 10))


def test_false_steps_per_minute_while_idle():
    # truth steps in 10..12 s; case spans 0..30 s; idle = [0, 8) and [14, 30) with a 2 s gap = 24 s
    assert idle_intervals([10_000 * MS, 12_000 * MS], 0, 30_000 * MS, 2000 * MS) == \
        [(0, 8000 * MS), (14_000 * MS, 30_000 * MS)]
    result = evaluate_case("c", truth([10_000, 12_000]), dets([1000, 10_000, 12_000, 20_000, 25_000]),
                           MatchParams(10 * MS, 2000 * MS), 0, 30_000 * MS)
    f = figures([result])
    assert f["idle_s"] == pytest.approx(24)
    assert f["false_steps_per_min"] == pytest.approx(3 / 24 * 60)


def test_tolerance_from_frames_or_ms():
    assert tolerance_ns(33_333_333) == 33_333_333
    assert tolerance_ns(33_333_333, frames=2) == 66_666_666
    assert tolerance_ns(33_333_333, frames=2, ms=50) == 50 * MS
