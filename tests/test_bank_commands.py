import argparse
import json

import numpy as np

from footfall.bank import commands
from footfall.bank.format import load_bank, write_wav


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="footfall")
    commands.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    return args.run(args)


def test_build_info_import_compare(tmp_path, capsys):
    out = tmp_path / "bank"
    assert run("bank", "build", str(out), "--variations", "2", "--surfaces", "wood,water", "--footwears", "boot",
               "--seed", "3", "--run-variations", "1") == 0
    bank = load_bank(out)
    assert len(bank.entries) == 2 * 1 * (3 * 2 + 2 * 1) and bank.surfaces == ("water", "wood")  # walks, runs
    assert run("bank", "info", str(out)) == 0
    info = capsys.readouterr().out
    assert "samples: 16" in info and "wood" in info and "boot" in info

    rec = tmp_path / "rec" / "wood" / "boot"
    rec.mkdir(parents=True)
    clip = np.concatenate([np.zeros(4800, np.float32), bank.clip(0)])
    write_wav(rec / "take.wav", clip, 48000)
    assert run("bank", "import", str(tmp_path / "rec"), str(tmp_path / "mine")) == 0
    assert load_bank(tmp_path / "mine").entries[0].provenance == "recording:wood/boot/take.wav"

    ref = tmp_path / "ref"
    ref.mkdir()
    write_wav(ref / "someone_wood_footstep.wav", bank.clip(7), 48000)
    assert run("bank", "compare", "--bank", str(out), "--reference", str(ref), "--json", str(tmp_path / "c.json")) == 0
    assert "wood" in capsys.readouterr().out
    rows = json.loads((tmp_path / "c.json").read_text())
    by = {r["surface"]: r for r in rows}
    assert by["wood"]["references"] == ["someone_wood_footstep.wav"] and by["wood"]["synth"]["count"] == 2
    assert by["water"]["real"] is None  # no recording of water: measured, not compared


def test_bad_input_is_one_line_naming_the_file(tmp_path, capsys):
    bad = tmp_path / "rec" / "dirt" / "boot" / "broken.wav"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"nope")
    assert run("bank", "import", str(tmp_path / "rec"), str(tmp_path / "out")) == 1
    err = capsys.readouterr().err.strip()
    assert "broken.wav" in err and "\n" not in err
    assert run("bank", "info", str(tmp_path / "nowhere")) == 1
    assert "nowhere" in capsys.readouterr().err
    assert run("bank", "compare", "--bank", str(tmp_path / "rec"), "--reference", str(tmp_path / "noref")) == 1
    assert "noref" in capsys.readouterr().err
