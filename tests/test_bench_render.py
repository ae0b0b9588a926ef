"""`footfall bench render`: each people count measured on each clip, side by side; bad counts are usage errors."""
from __future__ import annotations

import json

import pytest

from footfall.engine.cli import main
from footfall.engine.demo import draw_picture
from footfall.sinks.stick_figure_video import StickFigureParams
from footfall.sources.procedural_walkers import ProceduralWalkers, WalkerSceneParams


def test_each_people_count_gets_its_row(tmp_path, capsys):
    clip = tmp_path / "walker.mp4"
    scene = WalkerSceneParams(duration_s=2.0, width=320, height=240, fps=30)
    draw_picture(ProceduralWalkers(scene), clip, StickFigureParams(width=320, height=240, fps=30))
    out = tmp_path / "rows.json"
    assert main(["bench", "render", "--no-generated", "--people", "1,2", str(clip), "--json", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert [r["people"] for r in rows] == [1, 2]
    assert all(r["video"] == "walker.mp4" and r["frames"] == 60 and r["engine_x"] > 0 for r in rows)
    table = capsys.readouterr().out
    assert "people" in table.splitlines()[0] and len(table.strip().splitlines()) == 4


@pytest.mark.parametrize("counts", ["0", "1,x", ""])
def test_a_bad_people_count_is_a_usage_error(counts, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "render", "--no-generated", "--people", counts])
    assert exit_info.value.code == 2
    assert "--people" in capsys.readouterr().err
