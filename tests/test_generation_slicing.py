"""Generated clips cut into single steps at their onsets; bad slices rejected with counted reasons."""
from collections import Counter

import numpy as np
import pytest

from footfall.bank.compare import active_rms_dbfs
from footfall.bank.generation.slicing import SliceParams, slice_steps

SR = 48000


def burst(n: int, level: float, rng, decay_s: float = 0.03) -> np.ndarray:
    t = np.arange(n) / SR
    return level * rng.standard_normal(n) * np.exp(-t / decay_s)


def clip_with_steps(onsets_s, seconds=2.0, level=0.3, seed=0, dc=0.0, decay_s=0.03):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(seconds * SR)) * 1e-4 + dc
    for t in onsets_s:
        i = int(t * SR)
        n = min(int(0.3 * SR), x.size - i)
        x[i:i + n] += burst(n, level, rng, decay_s)
    return x


def test_steps_found_at_their_onsets_and_shaped_like_recordings():
    onsets = [0.1, 0.55, 1.0, 1.5]
    rejected = Counter()
    params = SliceParams()
    steps = slice_steps(clip_with_steps(onsets, dc=-0.3), SR, params, rejected)
    assert not rejected
    assert len(steps) == 4
    pre = int(params.pre_onset_ms * 1e-3 * SR)
    for step, t in zip(steps, onsets):
        assert abs(step.clip_onset - int(t * SR)) <= SR // 1000  # within a millisecond
        assert step.onset == pre
        assert abs(active_rms_dbfs(step.audio, SR) - params.target_rms_dbfs) < 0.5
        assert np.max(np.abs(step.audio)) <= 10 ** (params.max_peak_dbfs / 20) + 1e-6
        assert abs(float(np.mean(step.audio))) < 1e-3  # the generator's DC offset is gone
        assert len(step.audio) < 0.45 * SR  # ends after the decay, not at the next step


def test_a_heel_to_toe_roll_is_one_step():
    rejected = Counter()
    rng = np.random.default_rng(1)
    x = clip_with_steps([0.2, 1.0], level=0.3, seed=1)
    toe = int(0.3 * SR)
    x[toe:toe + int(0.2 * SR)] += burst(int(0.2 * SR), 0.2, rng)  # the toe, 100 ms after the heel
    steps = slice_steps(x, SR, SliceParams(), rejected)
    assert not rejected and len(steps) == 2
    assert len(steps[0].audio) > 0.12 * SR  # the toe is inside the first step


def test_rejections_are_counted_by_reason():
    rejected = Counter()
    params = SliceParams()
    assert slice_steps(np.zeros(SR), SR, params, rejected) == []
    assert rejected == Counter({"silent": 1})

    rejected.clear()
    steps = slice_steps(clip_with_steps([0.2, 0.45, 1.0]), SR, params, rejected)  # two steps 250 ms apart
    assert rejected == Counter({"double onset": 1}) and len(steps) == 1
    assert abs(steps[0].clip_onset - SR) <= SR // 1000

    rejected.clear()
    clip = clip_with_steps([0.2, 0.2 + 0.1, 0.2 + 0.2, 1.0], decay_s=0.012)  # heel, toe and a third contact
    steps = slice_steps(clip, SR, params, rejected)
    assert rejected == Counter({"double onset": 1}) and len(steps) == 1

    rejected.clear()
    loud = clip_with_steps([0.2, 1.0], level=3.0)  # the generator clipped its first step
    loud[int(1.0 * SR):] = clip_with_steps([1.0], level=0.3)[int(1.0 * SR):]
    steps = slice_steps(np.clip(loud, -1, 1), SR, params, rejected)
    assert rejected == Counter({"clipped": 1}) and len(steps) == 1

    rejected.clear()
    rng = np.random.default_rng(3)
    drone = np.concatenate([np.zeros(SR // 10), 0.2 * rng.standard_normal(3 * SR)])  # never decays
    assert slice_steps(drone, SR, params, rejected) == [] and rejected == Counter({"too long": 1})

    rejected.clear()
    late = clip_with_steps([0.3, 2.0 - 0.02])  # the last one starts 20 ms before the clip ends
    assert len(slice_steps(late, SR, params, rejected)) == 1 and rejected == Counter({"too short": 1})


def test_procedural_walks_on_hard_floors_are_cut_where_they_were_laid():
    """The procedural bank's heel-to-toe walks (two contacts each), three to a clip: every one found within a
    millisecond and none rejected."""
    from footfall.bank.procedural import ProceduralParams, build_procedural_bank

    bank = build_procedural_bank(ProceduralParams(variations=2, run_variations=0,
                                                  surfaces=("concrete", "tile", "wood", "metal")))
    at = (0.1, 0.85, 1.6)
    found = 0
    for i, entry in enumerate(bank.entries):
        x = np.zeros(int(2.4 * SR))
        sample = bank.clip(i)[: int(0.7 * SR)]
        for t in at:
            x[int(t * SR): int(t * SR) + sample.size] += sample
        rejected = Counter()
        steps = slice_steps(x, SR, SliceParams(), rejected)
        assert not rejected, entry.id
        assert [abs(s.clip_onset - int(t * SR) - entry.onset) <= SR // 1000 for s, t in zip(steps, at)] == [True] * 3
        found += len(steps)
    assert found == 3 * len(bank.entries)


def test_params_are_validated():
    with pytest.raises(ValueError):
        SliceParams(fade_in_ms=10.0, pre_onset_ms=5.0)
    with pytest.raises(ValueError):
        SliceParams(max_length_s=0.0)
