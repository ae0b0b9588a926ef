import numpy as np

from footfall.bank.compare import compare_with_references, describe, format_table
from footfall.bank.format import write_wav
from footfall.bank.procedural import ProceduralParams, build_procedural_bank

SR = 48000


def test_describe_known_signals():
    t = np.arange(SR // 2) / SR
    sine = 0.5 * np.sin(2 * np.pi * 1000 * t)
    d = describe(sine, SR)
    assert abs(d["centroid_hz"] - 1000) < 30
    assert abs(d["rms_dbfs"] - 20 * np.log10(0.5 / np.sqrt(2))) < 0.1
    assert abs(d["peak_dbfs"] - 20 * np.log10(0.5)) < 0.01
    assert np.argmax(d["bands_db"]) == 4  # the 1 kHz octave

    tau = 0.05
    decaying = np.random.default_rng(0).standard_normal(SR) * np.exp(-np.arange(SR) / SR / tau)
    expected_ms = tau * 30 / (20 * np.log10(np.e)) * 1e3  # amplitude falls 30 dB
    assert abs(describe(decaying, SR)["decay_ms"] - expected_ms) < 0.15 * expected_ms


def test_compare_matches_files_to_surfaces(tmp_path):
    bank = build_procedural_bank(ProceduralParams(surfaces=("wood", "concrete"), footwears=("boot",), variations=2, intensities=(1.0,)))
    write_wav(tmp_path / "game_wood_footstep.1.wav", bank.clip(0), SR)
    write_wav(tmp_path / "minetest_default_hard_footstep.wav", bank.clip(3), SR)
    write_wav(tmp_path / "walking_loop.wav", bank.clip(1), SR)
    rows = compare_with_references(bank, tmp_path)
    by = {r["surface"]: r for r in rows}
    assert set(by) == {"wood", "concrete", "-"}
    assert by["-"]["references"] == ["walking_loop.wav"]
    assert by["wood"]["references"] == ["game_wood_footstep.1.wav"] and by["wood"]["synth"]["count"] == 2
    # the reference is one of the bank's own samples, so the figures must be close
    assert abs(by["wood"]["synth"]["rms_dbfs"] - by["wood"]["real"]["rms_dbfs"]) < 3
    table = format_table(rows)
    assert "wood" in table and "concrete" in table and "walking_loop.wav" in table


def test_tonality_tells_a_ring_from_noise():
    from footfall.bank.compare import tonality_db
    rng = np.random.default_rng(0)
    t = np.arange(SR // 2) / SR
    decay = np.exp(-t / 0.03)
    noise = rng.standard_normal(t.size) * decay
    ring = noise * 0.05 + np.sin(2 * np.pi * 700 * t) * decay  # a mode ringing over the contact noise
    assert 7.5 < tonality_db(noise, SR) < 10.5  # a periodogram's own scatter
    assert tonality_db(ring, SR) > 18.0
    assert tonality_db(np.sin(2 * np.pi * 1000 * t), SR) > 18.0


def test_variant_spread_sees_near_copies():
    from footfall.bank.compare import third_octave_profile_db, variant_spread_db
    rng = np.random.default_rng(1)
    burst = lambda lp: np.convolve(rng.standard_normal(6000), np.ones(lp) / lp, "same") * np.exp(-np.arange(6000) / 900)
    copies = [third_octave_profile_db(burst(4) * g, SR) for g in (1.0, 0.5, 2.0)]
    varied = [third_octave_profile_db(burst(k), SR) for k in (1, 4, 12)]
    assert variant_spread_db(copies) < 2.5 < 4.0 < variant_spread_db(varied)  # copies differ by their noise only
    assert variant_spread_db(copies[:1]) is None


def test_plot_writes_spectrograms(tmp_path):
    from footfall.bank.spectrogram_plot import plot_surfaces
    bank = build_procedural_bank(ProceduralParams(surfaces=("wood",), footwears=("boot",), variations=2,
                                                  intensities=(1.0,), run_variations=0))
    path = tmp_path / "steps.png"
    plot_surfaces([("wood", [bank.clip(0), bank.clip(1)], [bank.clip(1)]), ("snow", [bank.clip(0)], [])], SR, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_procedural_walker_far_away_sounds_duller():
    from footfall.bank.compare import depth_centroids
    bank = build_procedural_bank(ProceduralParams(surfaces=("concrete",), footwears=("sneaker",), variations=4,
                                                  intensities=(1.0,), run_variations=0))
    c = depth_centroids(bank, "concrete", "sneaker")
    assert c[1.0] > c[2.0] > c[4.0] and c[4.0] < 0.9 * c[1.0]
