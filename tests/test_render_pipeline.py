"""The whole graph on generated media: exact durations, untouched video, sample-accurate steps, clean failures."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest

from footfall.bank.format import save_bank
from footfall.bank.sample_bank import Bank, BankEntry
from footfall.engine import config as cfg
from footfall.engine.demo import scene_items
from footfall.engine.messages import ns_to_samples
from footfall.engine.render import RenderSettings, run_pipeline
from footfall.sinks.audio_file import AudioFileSink
from footfall.sources.procedural_walkers import ProceduralWalkers, WalkerSceneParams
from media import make_video

SR = 48000
ONSET = 96  # the click bank's transient sits 2 ms into each sample


def click_bank(surfaces=("concrete", "wood", "gravel")) -> Bank:
    clips, entries = [], []
    for s in surfaces:
        clip = np.zeros(2400, np.float32)
        clip[ONSET] = 0.9
        clips.append(clip)
        entries.append(BankEntry(f"{s}-click", s, "sneaker", 1.0, ONSET, "test click"))
    return Bank.from_clips(SR, clips, entries, "clicks")


def exact_settings(**steps) -> RenderSettings:
    table = cfg.load("render")
    table["mixer"] = {"gain_jitter_db": 0.0, "pitch_jitter_cents": 0.0, "pan_width": 0.0,
                      "max_attenuation_db": 0.0, "intensity_range_db": 0.0, "air_cutoff_hz": 0.0}
    table["steps"] = table.get("steps", {}) | steps
    return RenderSettings.from_config(table)


def read_audio(path: Path) -> np.ndarray:
    """The first audio track as float32 (channels, samples)."""
    with av.open(str(path)) as c:
        planar = av.AudioResampler(format="fltp")
        return np.concatenate([g.to_ndarray() for f in c.decode(audio=0) for g in planar.resample(f)], axis=1)


@pytest.mark.parametrize("mode", ["render", "live"])
def test_each_step_sound_starts_at_its_contact_sample(tmp_path, mode):
    walkers = ProceduralWalkers(WalkerSceneParams(duration_s=6.0))
    out = tmp_path / "steps.wav"
    settings = exact_settings(mode=mode)
    summary = run_pipeline(lambda: scene_items(walkers), settings, AudioFileSink(out, SR, 2), None, click_bank())
    audio = read_audio(out)[0]
    assert audio.shape[0] == ns_to_samples(walkers.duration_ns, SR)
    assert summary.steps >= 6
    clicks = np.flatnonzero(np.abs(audio) > 0.05)
    clicks = clicks[np.insert(np.diff(clicks) > 10, 0, True)]  # first sample of each click
    expected = sorted(ns_to_samples(e.t_ns, SR) for e in summary.events)
    assert len(clicks) == len(expected)
    np.testing.assert_array_less(np.abs(clicks - np.array(expected)), SR // 1000 + 1)  # within 1 ms


TONE_MS = 12.0


def tone_bank(surfaces=("wood", "gravel", "concrete"), per_surface=4) -> tuple[Bank, np.ndarray]:
    """Short sine bursts, each sample at its own frequency, so the sample behind every step can be read back from
    the rendered audio. Returns the bank and each entry's frequency."""
    n = int(TONE_MS * 1e-3 * SR)
    clips, entries, freqs = [], [], []
    for s, surface in enumerate(surfaces):
        for k in range(per_surface):
            f = 750.0 + 500.0 * (s * per_surface + k)
            clips.append((0.5 * np.hanning(n) * np.sin(2 * np.pi * f * np.arange(n) / SR)).astype(np.float32))
            entries.append(BankEntry(f"{surface}-tone{k}", surface, "sneaker", 1.0, 0, "test tone"))
            freqs.append(f)
    return Bank.from_clips(SR, clips, entries, "tones"), np.array(freqs)


def test_consecutive_steps_of_one_person_never_reuse_a_sample(tmp_path):
    walkers = ProceduralWalkers(WalkerSceneParams(duration_s=12.0))
    bank, freqs = tone_bank(per_surface=2)  # two samples: round robin shared by two people would repeat each one
    out = tmp_path / "steps.wav"
    summary = run_pipeline(lambda: scene_items(walkers), exact_settings(mode="render"), AudioFileSink(out, SR, 2),
                           None, bank)
    audio = read_audio(out)[0]
    n = int(TONE_MS * 1e-3 * SR)
    starts = np.array([ns_to_samples(e.t_ns, SR) for e in summary.events])
    played: dict[int, list[int | None]] = {}
    for e, at in zip(summary.events, starts):
        alone = np.sum(np.abs(starts - at) < 2 * n) == 1  # no other step's tone overlaps this one
        spectrum = np.abs(np.fft.rfft(audio[at : at + n], 8 * n))
        peak = np.fft.rfftfreq(8 * n, 1 / SR)[np.argmax(spectrum)]
        played.setdefault(e.track_id, []).append(int(np.argmin(np.abs(freqs - peak))) if alone else None)
    assert len(played) >= 2 and len(summary.events) >= 20
    pairs = [(a, b) for steps in played.values() for a, b in zip(steps, steps[1:]) if a is not None and b is not None]
    assert len(pairs) >= 15
    assert all(a != b for a, b in pairs)


def test_render_video_copies_packets_and_matches_duration(tmp_path):
    video = make_video(tmp_path / "in.mp4", seconds=1.0, fps=25, size=(128, 96), audio_rate=44100)
    out = tmp_path / "out.mov"
    bank_dir = tmp_path / "bank"
    save_bank(click_bank(), bank_dir)
    env = dict(os.environ)
    result = subprocess.run([sys.executable, "-m", "footfall.engine.cli", "render", str(video), "-o", str(out),
                             "--bank", str(bank_dir), "--events", str(tmp_path / "ev.json"), "--quiet"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "steps" in result.stdout and "real time" in result.stdout

    def packets(path):
        with av.open(str(path)) as c:
            return [(bytes(p), p.pts, p.dts, p.is_keyframe) for p in c.demux(c.streams.video[0]) if p.size]

    assert packets(video) == packets(out)
    assert read_audio(out).shape[1] == SR  # 25 frames at 25 fps = exactly one second
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 2  # footsteps, then the original track
    assert json.loads((tmp_path / "ev.json").read_text())["version"] == 1


@pytest.mark.parametrize("args, problem", [
    (["missing.mp4", "-o", "out.wav"], "file not found"),
    (["in.mp4", "-o", "no/such/dir/out.wav"], "out.wav"),
    (["in.mp4", "-o", "out.xyz"], "unsupported"),
    (["in.mp4", "-o", "out.wav", "--surface", "gravle"], "surface 'gravle' is not in bank"),
])
def test_bad_input_or_output_is_one_line_and_exit_1(tmp_path, args, problem):
    make_video(tmp_path / "in.mp4", seconds=0.2)
    result = subprocess.run([sys.executable, "-m", "footfall.engine.cli", "render", *args, "--quiet"],
                            capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 1
    lines = [l for l in result.stderr.splitlines() if l.startswith("footfall:")]
    assert len(lines) == 1 and problem in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("sig, code, word", [(signal.SIGINT, 130, "cancelled"), (signal.SIGTERM, 143, "terminated")])
def test_cancel_mid_render_keeps_the_old_output_and_a_playable_partial_file(tmp_path, sig, code, word):
    video = make_video(tmp_path / "in.mp4", seconds=150.0, fps=30, size=(64, 48))
    out = tmp_path / "out.mp4"
    out.write_bytes(b"an earlier render")
    partial = tmp_path / "out.partial.mp4"
    proc = subprocess.Popen([sys.executable, "-m", "footfall.engine.cli", "render", str(video), "-o", str(out),
                             "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not partial.exists():
        time.sleep(0.1)
    time.sleep(10.0)  # past start-up (pose workers, first JIT compile), far from the end
    assert proc.poll() is None, "the render finished before it could be cancelled"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == f"footfall: {word}; what was written so far is in {partial}"
    assert out.read_bytes() == b"an earlier render"
    with av.open(str(partial)) as c:
        frames = sum(1 for _ in c.decode(video=0))
    samples = read_audio(partial).shape[1]
    assert 0 < frames < 4500
    assert 0 < samples < 150 * SR


def test_a_failed_render_leaves_an_existing_output_untouched(tmp_path):
    make_video(tmp_path / "in.mp4", seconds=0.2)
    (tmp_path / "out.wav").write_bytes(b"keep me")
    result = subprocess.run([sys.executable, "-m", "footfall.engine.cli", "render", "in.mp4", "-o", "out.wav",
                             "--surface", "gravle", "--quiet"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert result.returncode == 1
    assert (tmp_path / "out.wav").read_bytes() == b"keep me"
    assert not (tmp_path / "out.partial.wav").exists()  # it failed before rendering: nothing to keep


def test_a_file_size_limit_is_one_line_naming_the_file(tmp_path):
    video = make_video(tmp_path / "in.mp4", seconds=20.0, fps=30, size=(64, 48))
    (tmp_path / "out.wav").write_bytes(b"keep me")
    command = f"ulimit -f 200; exec {sys.executable} -m footfall.engine.cli render {video} -o out.wav --quiet"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 1, result.stderr
    lines = [l for l in result.stderr.splitlines() if l.startswith("footfall:")]
    assert len(lines) == 1 and "out.partial.wav" in lines[0] and "too large" in lines[0].lower(), result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "out.wav").read_bytes() == b"keep me"
