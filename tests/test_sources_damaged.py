"""Damaged and odd input: skipped and counted where it can be read, one line naming the file where it cannot."""
import subprocess
import sys

import av
import numpy as np
import pytest

from footfall.engine.bench_fuzz import MUTATIONS, classify, mp4_boxes, mutate, run_fuzz
from footfall.sources.errors import SourceError
from footfall.sources.video_file import VideoFileSource, probe
from media import make_video, remux, write_pictures


def test_damaged_packets_are_skipped_and_counted(tmp_path):
    src = make_video(tmp_path / "in.mp4", seconds=2.0, fps=30, size=(96, 64))
    damaged = remux(src, tmp_path / "damaged.mkv", garbage={10, 30})
    source = VideoFileSource(damaged)
    frames = list(source.frames())
    assert source.damaged == 2
    assert 50 <= len(frames) < 60  # the damaged pictures and the ones that needed them are gone, the rest decode
    times = [f.t_ns for f in frames]
    assert times == sorted(set(times))


def test_a_file_that_ends_early_gives_what_it_holds(tmp_path):
    src = make_video(tmp_path / "in.mkv", seconds=2.0, fps=30, size=(96, 64))
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(src.read_bytes()[: src.stat().st_size * 2 // 3])
    frames = list(VideoFileSource(cut).frames())
    assert 20 < len(frames) < 60


def _unknown_codec(tmp_path):
    path = make_video(tmp_path / "v.mp4", seconds=0.3)
    out = tmp_path / "unknown.mp4"
    out.write_bytes(path.read_bytes().replace(b"avc1", b"zzzz"))
    return out


def _too_wide(tmp_path):
    path = tmp_path / "wide.mkv"
    with av.open(str(path), "w") as o:
        s = o.add_stream("rawvideo", rate=30)
        s.width, s.height, s.pix_fmt = 16400, 2, "yuv420p"
        for _ in range(2):
            o.mux(s.encode(av.VideoFrame(16400, 2, "yuv420p")))
        o.mux(s.encode(None))
    return path


@pytest.mark.parametrize("maker, problem", [
    (lambda d: write_pictures(d / "one.mp4", [np.zeros((32, 32, 3), np.uint8)], [0.0]), "single picture"),
    (_unknown_codec, "no decoder"),
    (_too_wide, "16400x2 picture is beyond"),
])
def test_odd_input_is_one_line_naming_the_file(tmp_path, maker, problem):
    path = maker(tmp_path)
    with pytest.raises(SourceError) as info:
        probe(path)
    message = str(info.value)
    assert message.startswith(str(path)) and problem in message and "\n" not in message


def test_mutations_are_deterministic_and_damage(tmp_path):
    import random

    data = make_video(tmp_path / "in.mp4", seconds=0.5).read_bytes()
    assert {b"ftyp", b"moov"} <= {data[o + 4:o + 8] for o, _ in mp4_boxes(data)}
    for mutation in MUTATIONS:
        a, b = mutate(data, mutation, random.Random(5)), mutate(data, mutation, random.Random(5))
        assert a == b and a != data


def test_classify_outcomes():
    assert classify(0, "", False) == "rendered"
    assert classify(1, "footfall: x.mp4: not a readable video\n", False) == "clean error"
    assert classify(1, "Traceback (most recent call last):\nfootfall: x\n", False) == "crash"
    assert classify(-11, "", False) == "crash"
    assert classify(None, "", True) == "hang"


def test_a_few_damaged_files_render_or_fail_cleanly(tmp_path):
    results = run_fuzz(count=5, timeout_s=60, keep=tmp_path)
    assert len(results) == 5
    assert all(r.outcome in ("rendered", "clean error") for r in results), [(r.case.path.name, r.last_line)
                                                                          for r in results]


def test_render_names_damaged_packets_in_its_summary(tmp_path):
    src = make_video(tmp_path / "in.mp4", seconds=1.0, fps=30, size=(96, 64))
    damaged = remux(src, tmp_path / "damaged.mkv", garbage={12})
    result = subprocess.run([sys.executable, "-m", "footfall.engine.cli", "render", str(damaged), "-o",
                             str(tmp_path / "out.wav"), "--quiet"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "1 damaged packets or frames could not be decoded and were skipped" in result.stdout
