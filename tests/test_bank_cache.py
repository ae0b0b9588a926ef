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
