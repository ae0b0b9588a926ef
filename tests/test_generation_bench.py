"""`footfall bench bank-render` runs: the tiny architecture on the CPU (the smoke mode of the GPU benchmark)."""
import json

from footfall.engine.cli import main


def test_bank_render_bench_smoke_run_on_the_cpu(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "bank-render", "--tiny", "--device", "cpu", "--samples", "2", "--steps", "3,2",
                 "--batches", "1,2", "--decode", "both", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "s per 64" in printed and "model: tiny" in printed
    record = json.loads(out.read_text())
    rows = record["rows"]
    assert [(r["steps"], r["batch"], r["decode"]) for r in rows] == [
        (s, b, d) for s in (3, 2) for b in (1, 2) for d in ("each", "together")]
    for r in rows:
        assert r["clips"] == 2 and r["wall_s"] > 0 and r["s_per_64"] == r["wall_s"] * 32
        assert r["usable"] is None and r["peak_gpu_gb"] is None  # random weights: nothing to count; no GPU
    assert record["device"] == "cpu" and record["target_s_per_64"] == 2.0


def test_bad_lists_are_usage_errors(capsys):
    import pytest

    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "bank-render", "--tiny", "--steps", "0,x"])
    assert exit_info.value.code == 2
