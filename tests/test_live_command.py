"""`footfall live` end to end on PortAudio's ALSA null device (paced by the sink): a file played as live, its steps
played, the stats JSON, record and events written; SIGTERM stops it promptly with every file valid."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from media import make_video
from test_sound_card import NULL_ALSA

WALK = Path(__file__).resolve().parents[1] / "../shared/eval/videos/sports2d_demo4_walk_indoor_side.mp4"

STATS_KEYS = ("steps", "latency_ms", "detection_delay_ms", "frames_dropped", "underruns")


@pytest.fixture(scope="module")
def walk_clip(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("live") / "clip.mp4", seconds=6.0, fps=30, size=(320, 240))


def live_env(tmp_path: Path) -> dict:
    conf = tmp_path / "asound.conf"
    conf.write_text(NULL_ALSA)
    return dict(os.environ, ALSA_CONFIG_PATH=str(conf))


def command(clip: Path, tmp_path: Path) -> list[str]:
    return [sys.executable, "-m", "footfall.engine.cli", "live", str(clip), "--quiet", "--stats-json",
            str(tmp_path / "s.json"), "--record", str(tmp_path / "played.wav"), "--events", str(tmp_path / "e.json")]


def wav_seconds(path: Path) -> float:
    with av.open(str(path)) as c:
        return sum(f.samples for f in c.decode(audio=0)) / 48000


def test_a_file_plays_as_live_and_ends_with_it(walk_clip, tmp_path):
    t0 = time.monotonic()
    result = subprocess.run(command(walk_clip, tmp_path) + ["--stats"], env=live_env(tmp_path), capture_output=True,
                            text=True, timeout=120)
    wall = time.monotonic() - t0
    assert result.returncode == 0, result.stderr
    stats = json.loads((tmp_path / "s.json").read_text())
    for key in STATS_KEYS:
        assert key in stats
    for key in ("latency_ms", "detection_delay_ms"):
        assert set(stats[key]) >= {"p50", "p95"}
    assert stats["device"]["paced_by_footfall"] and stats["frames_arrived"] == 180
    assert wall > 6.0  # played at its own pace, not rendered
    events = json.loads((tmp_path / "e.json").read_text())["events"]
    assert len(events) == stats["steps_detected"]
    assert 3.0 < wav_seconds(tmp_path / "played.wav") < wall  # less than the clip only where the machine stalled it
    assert "latency" in result.stdout and "underruns" in result.stdout


def test_sigterm_stops_within_moments_with_every_file_valid(walk_clip, tmp_path):
    proc = subprocess.Popen(command(walk_clip, tmp_path), env=live_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / "played.wav").exists() or wav_seconds_safe(tmp_path / "played.wav") < 1.5:
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.2)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)
    stopped = time.monotonic() - sent
    assert proc.returncode == 143, proc.stderr.read()  # SIGTERM's own code (Ctrl-C: 130)
    assert stopped < 3.0
    stats = json.loads((tmp_path / "s.json").read_text())
    assert all(key in stats for key in STATS_KEYS)
    json.loads((tmp_path / "e.json").read_text())
    assert 1.0 < wav_seconds(tmp_path / "played.wav") < 6.0


def wav_seconds_safe(path: Path) -> float:
    try:
        return wav_seconds(path)
    except (av.FFmpegError, ValueError):
        return 0.0


def test_a_missing_file_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, "-m", "footfall.engine.cli", "live", str(tmp_path / "nope.mp4")],
                            env=live_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"footfall: {tmp_path / 'nope.mp4'}: file not found"]


def test_a_missing_sound_card_is_one_line_listing_the_devices(walk_clip, tmp_path):
    result = subprocess.run([sys.executable, "-m", "footfall.engine.cli", "live", str(walk_clip), "--device",
                             "no such card"], env=live_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("footfall: sound card 'no such card':")
    assert "output devices: 0 default" in lines[0]


@pytest.mark.slow
@pytest.mark.skipif(not WALK.exists(), reason="needs ../shared/eval")
def test_the_indoor_walk_plays_its_steps_live(tmp_path):
    result = subprocess.run(command(WALK, tmp_path), env=live_env(tmp_path), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["steps"] >= 15
    assert stats["latency_ms"]["p95"] is not None


def test_predict_turns_on_predictive_scheduling_over_any_config(tmp_path):
    from footfall.engine.cli import build_parser
    from footfall.engine.commands.live import load_live_settings

    config = tmp_path / "mine.toml"
    config.write_text("[steps]\nlive_predict = false\ncontact_offset_ms = 30.0\n")
    args = build_parser().parse_args(["live", "clip.mp4", "--predict", "--config", str(config)])
    steps = load_live_settings(args).render.steps
    assert steps.live_predict and steps.mode == "live" and steps.contact_offset_ms == 30.0
    plain = build_parser().parse_args(["live", "clip.mp4"])
    assert not load_live_settings(plain).render.steps.live_predict
