import multiprocessing
import time

import numpy as np

from footfall.bank.cache import cache_key, default_bank
from footfall.bank.procedural import ProceduralParams

PARAMS = ProceduralParams(surfaces=("wood", "gravel"), footwears=("sneaker", "boot"), variations=2, run_variations=1)


def test_renders_once_then_loads(tmp_path):
    first = default_bank(PARAMS, tmp_path)
    dirs = list((tmp_path / "banks").iterdir())
    assert [d.name for d in dirs] == [cache_key(PARAMS)]
    stamp = (dirs[0] / "manifest.json").stat().st_mtime_ns
    start = time.perf_counter()
    second = default_bank(PARAMS, tmp_path)
    assert time.perf_counter() - start < 1.0
    assert (dirs[0] / "manifest.json").stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(first.audio, second.audio)
    assert first.entries == second.entries


def test_key_follows_params():
    assert cache_key(PARAMS) != cache_key(ProceduralParams(surfaces=("wood",), variations=2))
    assert cache_key(PARAMS) == cache_key(ProceduralParams(surfaces=("wood", "gravel"), footwears=("sneaker", "boot"),
                                                           variations=2, run_variations=1))


def test_key_follows_the_synthesiser_version(monkeypatch):
    from footfall.bank import cache
    before = cache_key(PARAMS)
    monkeypatch.setattr(cache, "SYNTH_VERSION", cache.SYNTH_VERSION + 1)
    assert cache_key(PARAMS) != before


def test_damaged_cache_is_rendered_again(tmp_path):
    default_bank(PARAMS, tmp_path)
    (tmp_path / "banks" / cache_key(PARAMS) / "manifest.json").write_text("{")
    bank = default_bank(PARAMS, tmp_path)
    assert len(bank.entries) == 2 * 2 * (2 * 3 + 1 * 2)  # walk: 2 variations x 3 intensities; run: 1 x 2
    assert default_bank(PARAMS, tmp_path).entries == bank.entries


def test_env_var_picks_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FOOTFALL_CACHE", str(tmp_path / "c"))
    small = ProceduralParams(surfaces=("tile",), footwears=("boot",), variations=1, intensities=(1.0,))
    default_bank(small)
    assert (tmp_path / "c" / "banks" / cache_key(small) / "manifest.json").is_file()


def _render(path: str) -> int:
    return len(default_bank(ProceduralParams(surfaces=("sand",), footwears=("boot",), variations=2, run_variations=0),
                            path).entries)


def test_two_processes_at_once(tmp_path):
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        counts = pool.map(_render, [str(tmp_path)] * 2)
    assert counts == [6, 6]
    assert [p.name for p in (tmp_path / "banks").iterdir()] == [
        cache_key(ProceduralParams(surfaces=("sand",), footwears=("boot",), variations=2, run_variations=0))]


def test_cached_audio_is_mapped_from_one_packed_file(tmp_path):
    from footfall.bank.cache import PACKED_NAME, load_cached
    from footfall.bank.format import load_bank

    built = default_bank(PARAMS, tmp_path)
    entry = tmp_path / "banks" / cache_key(PARAMS)
    assert (entry / PACKED_NAME).is_file()
    mapped = default_bank(PARAMS, tmp_path)
    assert isinstance(mapped.audio.base, np.memmap) or isinstance(mapped.audio, np.memmap)
    from_files = load_bank(entry)
    for bank in (mapped, from_files):
        np.testing.assert_array_equal(bank.audio, built.audio)
        np.testing.assert_array_equal(bank.offsets, built.offsets)
        assert bank.entries == built.entries
    (entry / PACKED_NAME).unlink()  # a cache entry from before the packed file: loaded from its files, then packed
    np.testing.assert_array_equal(load_cached(entry).audio, built.audio)
    assert (entry / PACKED_NAME).is_file()


def test_a_packed_file_that_does_not_match_is_rendered_again(tmp_path):
    from footfall.bank.cache import PACKED_NAME

    built = default_bank(PARAMS, tmp_path)
    packed = tmp_path / "banks" / cache_key(PARAMS) / PACKED_NAME
    np.save(packed, built.audio[:-10])
    again = default_bank(PARAMS, tmp_path)
    np.testing.assert_array_equal(again.audio, built.audio)
