"""The mixer bench measures both engines with every voice busy."""
from footfall.engine.mixer.bench import bench_mixer, format_table


def test_bench_reports_both_engines_with_the_pool_full():
    rows = bench_mixer(voice_counts=(1, 8), seconds=0.2, block=256)
    assert [(r["voices"], r["engine"]) for r in rows] == [(1, "numba"), (1, "numpy"), (8, "numba"), (8, "numpy")]
    for r in rows:
        assert r["realtime_x"] > 0 and r["wall_s"] > 0
        assert r["mean_active"] == r["voices"]
    table = format_table(rows)
    assert len(table.splitlines()) == 5 and "numba" in table
