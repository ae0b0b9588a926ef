"""CLIP through the product's own loading code on a tiny open_clip model the tests build, train briefly and save as
safetensors; the scene tracker's hysteresis and dwell; `footfall scene` with and without a model."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from footfall.engine.scene.clip_model import ClipUnavailable, load_clip, parse_spec
from footfall.engine.scene.stage import SceneParams, SceneTap
from footfall.engine.scene.tracker import SceneTracker, SceneTrackerParams
from footfall.engine.stages import video_items
from footfall.sources.video_file import VideoFileSource, VideoSourceParams
from scene_media import lawn, planks, two_scene_video


def test_the_tiny_model_loads_from_its_folder_and_from_its_safetensors_file(clip_folder):
    rng = np.random.default_rng(0)
    pictures = [lawn(64, 96, rng), planks(64, 96, rng)]
    a = load_clip(str(clip_folder)).embed_images(pictures)
    b = load_clip(str(clip_folder / "open_clip_model.safetensors")).embed_images(pictures)
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


def test_zero_shot_labels_tell_the_two_surfaces(labeller):
    rng = np.random.default_rng(1)
    assert labeller.surfaces.classify(labeller.embed(planks(64, 96, rng)))[0] == "wood"
    assert labeller.surfaces.classify(labeller.embed(lawn(64, 96, rng)))[0] == "grass"


def test_models_that_cannot_be_had_are_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for spec in ("hf-hub:nobody/no-such-model", str(tmp_path / "missing.safetensors"), "ViT-B-32:laion2b_s34b_b79k"):
        with pytest.raises(ClipUnavailable) as err:
            load_clip(spec)
        assert "\n" not in str(err.value) and spec in str(err.value)
    pickled = tmp_path / "weights.bin"
    pickled.write_bytes(b"not safetensors")
    with pytest.raises(ClipUnavailable, match="safetensors"):
        load_clip(f"ViT-B-32:{pickled}")
    assert parse_spec("hf-hub:org/repo").kind == "hub" and parse_spec("ViT-B-32:openai").kind == "pretrained"


def unit(v):
    v = np.asarray(v, np.float32)
    return v / np.linalg.norm(v)


def test_the_tracker_needs_a_cut_or_a_confirmed_jump_and_keeps_each_scene_a_minimum_time():
    p = SceneTrackerParams(enter_distance=0.3, exit_distance=0.1, confirm=2, min_dwell_ms=1000.0)
    tr = SceneTracker(p)
    a, b = unit([1, 0, 0]), unit([0, 1, 0])
    assert tr.push(0, a, False).t_ns == 0  # the opening scene
    assert tr.push(500_000_000, b, True) is None  # within the dwell: no scene, even on a cut
    assert tr.push(1_500_000_000, b, False) is None  # a jump without a cut waits for confirmation ...
    start = tr.push(2_000_000_000, b, False)
    assert start is not None and start.t_ns == 1_500_000_000 and not start.at_cut  # ... and dates from its start
    assert tr.push(2_500_000_000, unit([0.3, 1, 0]), False) is None  # in the hysteresis band: same scene
    assert tr.push(3_500_000_000, a, True).at_cut  # a cut starts one at once


def run_tap(path, labeller, live=False):
    tap = SceneTap(SceneParams(footwear_min_confidence=1.0), labeller, "grass", "sneaker")
    items = list(tap.wrap(video_items(VideoFileSource(path, VideoSourceParams()).frames()), live=live))
    return tap, items


def test_the_scene_stage_puts_one_change_before_the_cut_frame(tmp_path, labeller):
    tap, items = run_tap(two_scene_video(tmp_path / "two.mp4"), labeller)
    changes = [i for i in items if type(i).__name__ == "SceneChange"]
    assert len(changes) == 1 and changes[0].surface == "wood" and changes[0].t_ns == 2_000_000_000
    after = items[items.index(changes[0]) + 1]
    assert after.t_ns == 2_000_000_000  # offline: the change comes right before the cut's frame
    assert tap.log.cuts == [2_000_000_000] and len(tap.log.scenes) == 2


def test_live_the_stage_never_waits_and_still_finds_the_change(tmp_path, labeller):
    tap, items = run_tap(two_scene_video(tmp_path / "two.mp4"), labeller, live=True)
    changes = [i for i in items if type(i).__name__ == "SceneChange"]
    assert [c.surface for c in changes] == ["wood"] and changes[0].t_ns == 2_000_000_000
    assert tap.log.wait_ns == 0


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "footfall.engine.cli", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_footfall_scene_prints_the_timeline_and_says_once_when_it_has_no_model(tmp_path, clip_folder):
    video = two_scene_video(tmp_path / "two.mp4")
    out = tmp_path / "scenes.json"
    r = cli("scene", str(video), "--clip-model", str(clip_folder), "--surface", "grass", "--json", str(out))
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["cuts_s"] == [2.0] and [c["surface"] for c in doc["changes"]][:1] == ["wood"]
    assert "surface wood" in r.stdout
    r = cli("scene", str(video), env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert r.returncode == 0 and r.stderr.count("no CLIP model") == 1 and "Traceback" not in r.stderr
    assert "2.000 s  cut" in r.stdout
    r = cli("scene", str(video), "--clip-model", "hf-hub:nobody/nothing", env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert r.returncode == 0 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_clip_in_its_own_process_embeds_and_labels_as_on_a_thread(clip_folder, labeller):
    from footfall.engine.scene.plan import load_labeller

    in_process, notice = load_labeller(SceneParams(clip_model=str(clip_folder)))
    try:
        assert notice is None
        rng = np.random.default_rng(2)
        picture = planks(64, 96, rng)  # small enough to cross undecimated: the same pixels on both sides
        np.testing.assert_allclose(in_process.embed(picture), labeller.embed(picture), atol=1e-5)
        np.testing.assert_allclose(in_process.surfaces.embeddings, labeller.surfaces.embeddings, atol=1e-5)
    finally:
        in_process.close()
    missing, notice = load_labeller(SceneParams(clip_model="hf-hub:nobody/nothing"))
    assert missing is None and "cuts are found" in notice and "\n" not in notice
