import numpy as np
import pytest

from footfall.bank.compare import centroid_hz, envelope_db
from footfall.bank.procedural import ProceduralParams, build_procedural_bank, synthesize_step
from footfall.bank.vocabulary import load_vocabulary

SR = 48000
VOCAB = load_vocabulary()


def test_vocabulary_is_wide_enough():
    assert len(VOCAB.surfaces) >= 10 and len(VOCAB.footwears) >= 4
    for name in ("concrete", "wood", "tile", "gravel", "grass", "dirt", "snow", "sand", "metal", "carpet", "water"):
        assert name in VOCAB.surfaces
    assert all(r.description for r in VOCAB.surfaces.values())


def test_deterministic_by_seed():
    a, onset_a = synthesize_step("gravel", "boot", 0.6, 3, seed=7)
    b, onset_b = synthesize_step("gravel", "boot", 0.6, 3, seed=7)
    c, _ = synthesize_step("gravel", "boot", 0.6, 3, seed=8)
    d, _ = synthesize_step("gravel", "boot", 0.6, 4, seed=7)
    assert a.dtype == np.float32 and onset_a == onset_b
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or not np.array_equal(a, c)
    assert a.shape != d.shape or not np.array_equal(a, d)


def test_bank_entries_match_single_steps():
    bank = build_procedural_bank(ProceduralParams(surfaces=("wood", "water"), footwears=("sneaker",), variations=2, seed=5))
    for i, e in enumerate(bank.entries):
        audio, onset = synthesize_step(e.surface, e.footwear, e.intensity, e.variation, seed=5, gait=e.gait)
        np.testing.assert_array_equal(bank.clip(i), audio)
        assert e.onset == onset and "seed=5" in e.provenance


def test_every_surface_and_footwear_has_ten_variations():
    bank = build_procedural_bank(ProceduralParams(intensities=(0.6,), run_variations=0))
    counts = {}
    for e in bank.entries:
        counts[(e.surface, e.footwear)] = counts.get((e.surface, e.footwear), 0) + 1
    assert set(counts) == {(s, f) for s in VOCAB.surfaces for f in VOCAB.footwears}
    assert min(counts.values()) >= 10
    assert len({e.id for e in bank.entries}) == len(bank.entries)
    for i in range(0, len(bank.entries), 7):
        x = bank.clip(i).astype(np.float64)
        peak = np.abs(x).max()
        assert 10 ** (-40 / 20) < peak <= 10 ** (-1 / 20) + 1e-6, bank.entries[i].id  # not silent, never clips
        assert abs(x.mean()) < 1e-3 * peak  # no DC
        assert np.all(x[: bank.entries[i].onset] == 0.0)  # silent lead-in: no click at the start
        assert np.abs(x[-48:]).max() < 0.01 * peak  # faded out: no click at the end


def _two_contacts(x: np.ndarray, onset: int) -> tuple[float, float]:
    """(ms from heel to toe, dB the toe raises the envelope over the 10 ms before it).

    The toe is the sharpest rise of the envelope 40-180 ms after the heel: on ringing grounds the heel's ring can
    stay louder than the toe, but only a new contact makes the envelope jump.
    """
    env = envelope_db(x, SR, 2.0)
    back = int(0.01 * SR)
    lo, hi = onset + int(0.04 * SR), min(env.size, onset + int(0.18 * SR))
    rise = np.array([env[t] - env[t - back : t].min() for t in range(lo, hi)])
    toe = int(np.argmax(rise))
    return (lo + toe - onset) * 1e3 / SR, float(rise[toe])


@pytest.mark.parametrize("surface", ["concrete", "wood", "tile", "metal"])
@pytest.mark.parametrize("footwear", ["hard_sole", "high_heel", "boot"])
def test_heel_then_toe_is_measurable(surface, footwear):
    for variation in range(3):
        x, onset = synthesize_step(surface, footwear, 0.6, variation)
        delay_ms, rise_db = _two_contacts(x.astype(np.float64), onset)
        assert 45 <= delay_ms <= 170, (surface, footwear, variation, delay_ms)
        assert rise_db > 6.0, (surface, footwear, variation, rise_db)


def test_intensity_changes_level_brightness_and_timing():
    for surface in ("concrete", "gravel", "wood"):
        soft = [synthesize_step(surface, "hard_sole", 0.3, v)[0] for v in range(4)]
        hard = [synthesize_step(surface, "hard_sole", 1.0, v)[0] for v in range(4)]
        rms = [np.sqrt(np.mean(np.square(x, dtype=np.float64))) for x in (soft[0], hard[0])]
        assert rms[1] > 2.0 * rms[0]
        assert np.mean([centroid_hz(x, SR) for x in hard]) > 1.05 * np.mean([centroid_hz(x, SR) for x in soft])
        if surface != "gravel":  # a harder step's crunch lasts longer, and that, not the toe, sets gravel's length
            assert all(h.size < s.size for h, s in zip(hard, soft))  # the same steps, rolled faster: toe lands sooner


def test_footwear_changes_the_sound():
    heels, _ = synthesize_step("tile", "high_heel", 1.0, 0)
    bare, _ = synthesize_step("tile", "barefoot", 1.0, 0)
    assert centroid_hz(heels, SR) > 1.3 * centroid_hz(bare, SR)


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="lava"):
        synthesize_step("lava", "boot", 1.0, 0)
    with pytest.raises(ValueError, match="flippers"):
        build_procedural_bank(ProceduralParams(footwears=("flippers",)))
