"""The Mixer: sample-accurate starts, placement, variation, stealing, bank swaps and the output ceiling."""
import dataclasses
import tracemalloc

import numpy as np
import pytest

from footfall.bank.sample_bank import Bank, BankEntry
from footfall.engine.config import ConfigError, section
from footfall.bank.compare import centroid_hz
from footfall.engine.mixer.mixer import Mixer, MixerParams

SR = 48000
EXACT = dict(gain_jitter_db=0.0, pitch_jitter_cents=0.0, master_gain_db=0.0, limiter_threshold_db=0.0,
             air_cutoff_hz=0.0)


def click_bank(onsets=(37, 5, 120), length=400, surface="wood", footwear="boot", intensities=None, level=0.5):
    """Clips that are silent except one impulse at their onset, so where a sample lands is measurable."""
    clips, entries = [], []
    for i, onset in enumerate(onsets):
        clip = np.zeros(length, np.float32)
        clip[onset] = level
        clips.append(clip)
        inten = 0.5 if intensities is None else intensities[i]
        entries.append(BankEntry(f"{surface}{i}", surface, footwear, inten, onset, "test"))
    return Bank.from_clips(SR, clips, entries, name=surface)


def render_blocks(mixer, total, block):
    out = np.zeros((total, mixer.params.channels), np.float32)
    for start in range(0, total, block):
        mixer.render_into(out[start : start + block])
    return out


@pytest.mark.parametrize("block", [1, 64, 333, 512])
def test_onset_lands_exactly_on_at_sample_in_any_block_position(block):
    mixer = Mixer(MixerParams(**EXACT), click_bank())
    bank = mixer.bank
    starts = [200, 511, 512, 513, 1000, 1023, 1500]
    chosen = []
    for at in starts:
        first = mixer.trigger(at, "wood", "boot", 0.5, 1.0, 1.0)
        i = [j for j in range(3) if at - bank.onsets[j] == first]
        chosen.append(i[0])
    out = render_blocks(mixer, 2048, block)
    hits = np.flatnonzero(np.abs(out[:, 0]) > 1e-4)
    assert hits.tolist() == starts
    assert sorted(set(chosen)) == [0, 1, 2]  # round robin went through every clip


def test_pitch_jitter_keeps_onset_within_a_sample_and_varies():
    bank = click_bank(onsets=(150,), length=300)
    mixer = Mixer(MixerParams(pitch_jitter_cents=100.0, gain_jitter_db=0.0, master_gain_db=0.0), bank)
    peaks = []
    for k in range(8):
        at = 1000 + 700 * k + k
        mixer.trigger(at, "wood", "boot", 0.5, 1.0, 1.0)
    out = mixer.render(8000)[:, 0]
    for k in range(8):
        at = 1000 + 700 * k + k
        window = np.abs(out[at - 5 : at + 6])
        assert abs(int(np.argmax(window)) - 5) <= 1
        peaks.append(window.sum())
    assert np.ptp(peaks) > 1e-3  # the impulse spreads differently at each playback rate: pitch really varies


def test_late_event_starts_at_position_playing_the_whole_sample():
    mixer = Mixer(MixerParams(**EXACT), click_bank(onsets=(100,)))
    mixer.render(1000)
    first = mixer.trigger(950, "wood", "boot", 0.5, 1.0, 1.0)
    assert first == 1000
    out = mixer.render(512)
    assert np.flatnonzero(np.abs(out[:, 0]) > 1e-4).tolist() == [100]


def test_constant_power_pan_and_depth_attenuation():
    params = MixerParams(**EXACT, pan_width=1.0)
    bank = click_bank(onsets=(10,), level=0.25)
    levels = {}
    for x, depth in [(0.0, 1.0), (0.5, 1.0), (1.0, 1.0), (0.5, 2.0), (0.5, 0.1), (0.5, 1000.0)]:
        mixer = Mixer(params, bank)
        mixer.trigger(100, "wood", "boot", x, depth, 1.0)
        levels[(x, depth)] = mixer.render(256)[100]
    assert levels[(0.0, 1.0)][1] == pytest.approx(0.0, abs=1e-7)
    assert levels[(1.0, 1.0)][0] == pytest.approx(0.0, abs=1e-7)
    centre = levels[(0.5, 1.0)]
    assert centre[0] == pytest.approx(centre[1])
    assert float(np.sum(centre**2)) == pytest.approx(0.25**2, rel=1e-5)  # constant power
    assert levels[(0.5, 2.0)][0] / centre[0] == pytest.approx(0.5, rel=1e-5)  # 1/distance
    assert levels[(0.5, 0.1)][0] / centre[0] == pytest.approx(2.0, rel=1e-5)  # clamped at min_depth 0.5
    assert levels[(0.5, 1000.0)][0] / centre[0] == pytest.approx(10 ** (-24 / 20), rel=1e-5)


def test_intensity_picks_nearby_entries_and_sets_level():
    bank = click_bank(onsets=(10, 20, 30, 40), intensities=(0.1, 0.15, 0.9, 0.95))
    mixer = Mixer(MixerParams(**EXACT), bank)
    firsts = [mixer.trigger(1000 * (k + 1), "wood", "boot", 0.5, 1.0, 0.95) for k in range(4)]
    assert sorted({1000 * (k + 1) - f for k, f in enumerate(firsts)}) == [30, 40]
    loud = np.abs(mixer.render(5000)[1000, 0])
    mixer = Mixer(MixerParams(**EXACT), click_bank(onsets=(10,)))
    mixer.trigger(100, "wood", "boot", 0.5, 1.0, 0.0)
    quiet = np.abs(mixer.render(200)[100, 0])
    assert quiet / loud == pytest.approx(10 ** (-12 * 0.95 / 20), rel=1e-5)  # loud was at intensity 0.95


def test_same_seed_same_output_other_seed_differs():
    bank = click_bank(onsets=(50, 60), length=2000)
    bank = Bank.from_clips(SR, [np.sin(np.arange(2000) * 0.05).astype(np.float32) * 0.3] * 2, list(bank.entries))

    def run(seed):
        mixer = Mixer(MixerParams(seed=seed), bank)
        for k in range(5):
            mixer.trigger(300 * k + 100, "wood", "boot", 0.3, 1.5, 0.7)
        return mixer.render(3000)

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.allclose(run(1), run(2))


def test_numba_and_numpy_engines_render_the_same():
    rng = np.random.default_rng(5)
    clips = [rng.uniform(-1, 1, 3000).astype(np.float32) for _ in range(3)]
    entries = [BankEntry(f"c{i}", "gravel", "boot", i / 2, 200, "test") for i in range(3)]
    bank = Bank.from_clips(SR, clips, entries)
    outs = []
    for engine in ("numba", "numpy"):
        mixer = Mixer(MixerParams(max_voices=8), bank, engine=engine)
        trig = np.random.default_rng(9)
        out = []
        for _ in range(20):
            for _ in range(3):
                mixer.trigger(mixer.position + int(trig.integers(-300, 900)), "gravel", "boot", trig.random(),
                              trig.uniform(0.2, 5), trig.random())
            out.append(mixer.render(int(trig.integers(1, 700))))
        outs.append(np.concatenate(out))
    assert np.abs(outs[0]).max() > 0.1
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=2e-6)


def test_many_loud_voices_never_exceed_the_threshold():
    bank = Bank.from_clips(SR, [np.ones(4000, np.float32)], [BankEntry("dc", "metal", "boot", 1.0, 0, "test")])
    params = MixerParams(max_voices=64, master_gain_db=12.0, limiter_threshold_db=-1.0)
    mixer = Mixer(params, bank)
    for k in range(64):
        mixer.trigger(k * 7, "metal", "boot", 0.5, 0.5, 1.0)
    out = mixer.render(5000)
    assert np.abs(out).max() <= 10 ** (-1 / 20)
    assert np.abs(out).max() > 0.98 * 10 ** (-1 / 20)


def test_full_pool_steals_the_quietest_voice_with_a_fade_not_a_cut():
    bank = Bank.from_clips(SR, [np.ones(20000, np.float32) * 0.1], [BankEntry("hum", "wood", "boot", 1.0, 0, "t")])
    params = MixerParams(**EXACT, max_voices=2, channels=1)
    mixer = Mixer(params, bank)
    mixer.trigger(0, "wood", "boot", 0.5, 1.0, 1.0)  # loud
    mixer.trigger(0, "wood", "boot", 0.5, 8.0, 1.0)  # quiet (far away): the one to steal
    mixer.render(1000)
    assert mixer.active_voices == 2
    mixer.trigger(1000, "wood", "boot", 0.5, 1.0, 1.0)
    assert mixer.active_voices == 2
    out = mixer.render(1000)[:, 0]
    fade = round(0.005 * SR)
    assert np.all(np.diff(out[:fade]) <= 1e-7)  # the stolen voice ramps down...
    assert np.max(np.abs(np.diff(out[: fade + 5]))) < 0.01  # ...without a step
    assert out[fade + 10] == pytest.approx(0.2, rel=1e-5)  # then the two loud voices remain


def test_set_bank_lets_sounding_voices_finish_from_their_own_bank():
    old = Bank.from_clips(SR, [np.full(3000, 0.1, np.float32)], [BankEntry("a", "wood", "boot", 1.0, 0, "t")])
    new = Bank.from_clips(SR, [np.full(500, -0.3, np.float32)], [BankEntry("b", "wood", "boot", 1.0, 0, "t")])
    mixer = Mixer(MixerParams(**EXACT, channels=1), old)
    mixer.trigger(0, "wood", "boot", 0.5, 1.0, 1.0)
    mixer.render(1000)
    mixer.set_bank(new)
    mixer.trigger(1500, "wood", "boot", 0.5, 1.0, 1.0)
    out = mixer.render(3000)[:, 0]
    np.testing.assert_allclose(out[:500], 0.1, rtol=1e-6)  # old voice untouched by the swap
    np.testing.assert_allclose(out[500:1000], 0.1 - 0.3, rtol=1e-5)  # both sound together
    np.testing.assert_allclose(out[1000:2000], 0.1, rtol=1e-6)  # old voice plays to its natural end
    assert not np.any(out[2000:])
    assert mixer.active_voices == 0


def test_a_character_plays_its_own_bank_until_everyone_gets_one():
    def steady(level, name):
        return Bank.from_clips(SR, [np.full(400, level, np.float32)], [BankEntry(name, "wood", "boot", 1.0, 0, "t")],
                               name=name)

    everyone, hers, later = steady(0.1, "everyone"), steady(0.3, "hers"), steady(-0.2, "later")
    mixer = Mixer(MixerParams(**EXACT, channels=1), everyone)
    mixer.set_bank(hers, track_id=7)
    assert mixer.bank is everyone and mixer.bank_of(7) is hers and mixer.bank_of(3) is everyone
    mixer.trigger(0, "wood", "boot", 0.5, 1.0, 1.0, track_id=7)
    mixer.trigger(1000, "wood", "boot", 0.5, 1.0, 1.0, track_id=3)
    first = np.concatenate([mixer.render(100)[:, 0] for _ in range(30)])  # hers stays loaded while silent
    np.testing.assert_allclose(first[:400], 0.3, rtol=1e-6)  # character 7 from its own bank
    np.testing.assert_allclose(first[1000:1400], 0.1, rtol=1e-6)  # character 3 from everyone's
    mixer.trigger(4000, "wood", "boot", 0.5, 1.0, 1.0, track_id=7)
    mixer.set_bank(later)  # everyone's: it ends character 7's own bank for later steps
    mixer.trigger(5000, "wood", "boot", 0.5, 1.0, 1.0, track_id=7)
    out = mixer.render(3000)[:, 0]
    np.testing.assert_allclose(out[1000:1400], 0.3, rtol=1e-6)  # triggered before the change: its own bank
    np.testing.assert_allclose(out[2000:2400], -0.2, rtol=1e-6)  # the next: everyone's new bank
    assert mixer.bank_of(7) is later and mixer.active_voices == 0


def test_render_into_allocates_nothing_once_warm():
    rng = np.random.default_rng(0)
    bank = Bank.from_clips(SR, [rng.uniform(-1, 1, 24000).astype(np.float32)], [BankEntry("n", "s", "f", 1, 0, "t")])
    mixer = Mixer(MixerParams(), bank)
    for k in range(32):
        mixer.trigger(k * 50, "s", "f", 0.5, 1.0, 0.5)
    out = np.zeros((512, 2), np.float32)
    mixer.render_into(out)
    tracemalloc.start()
    for _ in range(10):
        mixer.render_into(out)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2048  # no array allocations (a few small Python objects at most)
    assert np.abs(out).max() > 0


def test_render_advances_position_and_checks_its_arguments():
    mixer = Mixer(MixerParams(), click_bank())
    assert mixer.render(0).shape == (0, 2)
    assert mixer.render(100).dtype == np.float32
    assert mixer.position == 100
    with pytest.raises(ValueError):
        mixer.render_into(np.zeros((10, 2), np.float64))
    with pytest.raises(ValueError):
        mixer.render_into(np.zeros((10, 1), np.float32))
    with pytest.raises(ValueError):
        mixer.trigger(10, "wood", "boot", float("nan"), 1.0, 1.0)
    with pytest.raises(TypeError):
        mixer.trigger(10.5, "wood", "boot", 0.5, 1.0, 1.0)
    with pytest.raises(ValueError):
        Mixer(MixerParams(sample_rate=44100), click_bank())


@pytest.mark.parametrize(
    "change",
    [dict(channels=3), dict(max_voices=0), dict(pan_width=1.5), dict(min_depth=0.0), dict(limiter_threshold_db=1.0),
     dict(limiter_release_ms=0.0), dict(gain_jitter_db=-1.0), dict(sample_rate=100), dict(seed=-1),
     dict(master_gain_db=float("inf")), dict(max_voices=2.5), dict(early_reflections=1), dict(air_cutoff_hz=50.0),
     dict(room_size_m=0.0), dict(filter_jitter_octaves=-0.1), dict(air_exponent=9.0)],
)
def test_params_reject_bad_values(change):
    with pytest.raises(ValueError, match="mixer"):
        MixerParams(**change)


def test_params_load_from_a_config_table():
    params = section({"mixer": {"max_voices": 32, "pan_width": 1, "early_reflections": True}}, "mixer", MixerParams)
    assert params == dataclasses.replace(MixerParams(), max_voices=32, pan_width=1.0, early_reflections=True)
    with pytest.raises(ConfigError):
        section({"mixer": {"max_voice": 32}}, "mixer", MixerParams)


def test_one_person_never_plays_the_same_sample_twice_in_a_row():
    """Two people stepping in turn, each avoiding their own last samples; with two samples a person alternates."""
    for onsets in ((10, 20, 30, 40, 50), (10, 20)):
        mixer = Mixer(MixerParams(**EXACT, seed=3), click_bank(onsets=onsets, length=100))
        played: dict[int, list[int]] = {0: [], 1: []}
        for k in range(120):
            person = k % 2 if k % 7 else 1  # now and then one person takes two turns
            at = 1000 + 300 * k
            played[person].append(at - mixer.trigger(at, "wood", "boot", 0.5, 1.0, 0.5, track_id=person))
            mixer.render(300)
        for steps in played.values():
            assert all(a != b for a, b in zip(steps, steps[1:]))
            assert set(steps) == set(onsets)  # every sample gets its turn
            if len(onsets) > 2:
                assert all(a != c for a, c in zip(steps, steps[2:]))  # nor the one before


def test_gait_picks_samples_made_for_it_and_falls_back_to_any():
    clips = [np.zeros(100, np.float32) for _ in range(4)]
    entries = [BankEntry("w0", "wood", "boot", 0.5, 10, "t", gait="walk"),
               BankEntry("w1", "wood", "boot", 0.5, 11, "t", gait="walk"),
               BankEntry("r0", "wood", "boot", 0.5, 20, "t", gait="run"), BankEntry("a0", "tile", "boot", 0.5, 30, "t")]
    mixer = Mixer(MixerParams(**EXACT), Bank.from_clips(SR, clips, entries))
    runs = {1000 - mixer.trigger(1000, "wood", "boot", 0.5, 1.0, 0.5, gait="run", track_id=k) for k in range(4)}
    walks = {1000 - mixer.trigger(1000, "wood", "boot", 0.5, 1.0, 0.5, gait="walk", track_id=k) for k in range(4)}
    anys = {1000 - mixer.trigger(1000, "tile", "boot", 0.5, 1.0, 0.5, gait="run", track_id=k) for k in range(4)}
    assert runs == {20} and walks == {10, 11} and anys == {30}


def test_depth_dulls_the_sound_air_absorption():
    rng = np.random.default_rng(0)
    noise = (rng.standard_normal(4800) * np.exp(-np.arange(4800) / 800)).astype(np.float32) * 0.3
    bank = Bank.from_clips(SR, [noise], [BankEntry("n", "wood", "boot", 0.5, 0, "t")])
    centroid = {}
    for depth in (1.0, 2.0, 4.0):
        mixer = Mixer(MixerParams(**{**EXACT, "filter_jitter_octaves": 0.0, "air_cutoff_hz": 20000.0}), bank)
        mixer.trigger(0, "wood", "boot", 0.5, depth, 1.0)
        centroid[depth] = centroid_hz(mixer.render(4800)[:, 0], SR)
    assert centroid[1.0] > 1.15 * centroid[2.0] > 1.15 * 1.15 * centroid[4.0]
    plain = Mixer(MixerParams(**EXACT), bank)  # air_cutoff_hz = 0: no filter at all, bit-exact playback
    plain.trigger(0, "wood", "boot", 0.5, 1.0, 1.0)
    np.testing.assert_array_equal(plain.render(4800)[:, 0], noise * np.float32(np.sqrt(0.5)))


def test_early_reflections_follow_the_direct_sound_and_grow_with_distance():
    params = MixerParams(**EXACT, early_reflections=True, room_size_m=6.0)
    ratio = {}
    for depth in (1.0, 4.0):
        mixer = Mixer(params, click_bank(onsets=(0,), length=8))
        mixer.trigger(100, "wood", "boot", 0.5, depth, 1.0)
        out = mixer.render(4000)[:, 0]
        hits = np.flatnonzero(np.abs(out) > 1e-6)
        assert hits[0] == 100 and 100 + int(0.004 * SR) < hits[1] and hits[-1] < 100 + int(0.035 * SR)
        ratio[depth] = float(np.sum(out[101:] ** 2) / out[100] ** 2)
    assert ratio[4.0] == pytest.approx(ratio[1.0] * 4.0, rel=1e-3)  # direct falls 12 dB, reflections 6 dB
    assert 10 * np.log10(ratio[1.0]) == pytest.approx(-8.0 + 10 * np.log10(2.04), abs=0.5)
