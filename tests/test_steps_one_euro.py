import numpy as np
import pytest

from footfall.engine.steps.one_euro import OneEuroFilter, OneEuroParams


def test_constant_signal_passes_unchanged():
    f = OneEuroFilter(OneEuroParams())
    for i in range(20):
        out = f(i * 33_333_333, np.array([1.5, -2.0]))
    np.testing.assert_allclose(out, [1.5, -2.0])


def test_reduces_jitter_and_is_causal():
    rng = np.random.default_rng(0)
    f = OneEuroFilter(OneEuroParams(min_cutoff_hz=1.0, beta=0.0))
    noisy = 1.0 + 0.1 * rng.standard_normal(300)
    out = np.array([f(i * 33_333_333, np.array([v]))[0] for i, v in enumerate(noisy)])
    assert out[50:].std() < 0.5 * noisy[50:].std()
    # causal: changing the future leaves the past untouched
    g = OneEuroFilter(OneEuroParams(min_cutoff_hz=1.0, beta=0.0))
    changed = noisy.copy()
    changed[200:] += 5
    out2 = np.array([g(i * 33_333_333, np.array([v]))[0] for i, v in enumerate(changed)])
    np.testing.assert_array_equal(out[:200], out2[:200])


def test_matches_reference_formula_for_one_step():
    p = OneEuroParams(min_cutoff_hz=2.0, beta=0.5, derivative_cutoff_hz=1.0)
    f = OneEuroFilter(p)
    f(0, np.array([0.0]))
    dt = 0.04
    out = f(40_000_000, np.array([1.0]))
    a_d = 1 / (1 + 1 / (2 * np.pi * 1.0) / dt)
    dx = a_d * (1.0 / dt)
    a = 1 / (1 + 1 / (2 * np.pi * (2.0 + 0.5 * dx)) / dt)
    assert out[0] == pytest.approx(a)


def test_rejects_bad_params():
    with pytest.raises(ValueError):
        OneEuroParams(min_cutoff_hz=0)
