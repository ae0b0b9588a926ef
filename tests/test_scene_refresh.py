"""Scene changes swap banks: one cut in a generated two-shot video gives exactly one scene change and one bank swap,
without a click, rendering a file and live; the refresher's catalog, cache, background loads and renderer command.
Pose here is a stand-in that returns the procedural walkers' true poses (so steps sound on both sides of the cut);
CLIP is the tiny model the tests train (conftest.py), loaded through the product's own code."""
import sys
import time
from pathlib import Path

import av
import numpy as np

from footfall.bank.format import load_bank
from footfall.bank.refresh import BankCatalog, BankRefresher, QueueRenderer, RefreshParams
from footfall.engine import config as cfg
from footfall.engine.graph.policy import LIVE
from footfall.engine.graph.supervisor import Supervisor
from footfall.engine.live_stats import LiveStats
from footfall.engine.messages import SceneChange
from footfall.engine.render import RenderSettings, run_pipeline
from footfall.engine.scene.plan import prepare_scenes
from footfall.engine.stages import video_items
from footfall.sinks.audio_file import AudioFileSink
from footfall.sinks.sound_card import SoundCardParams, SoundCardSink
from footfall.sources.procedural_walkers import ProceduralWalkers, WalkerSceneParams
from footfall.sources.video_file import VideoFileSource, VideoSourceParams
from fake_output import factory
from scene_media import banks_folder, burst_bank, two_scene_video

SR = 48000
CUT_NS = 2_000_000_000


class TruePose:
    """Poses each frame with the walkers' true pose of the same index (offline in order; live the newest frame)."""

    def __init__(self, walkers):
        self.samples = list(walkers.samples())

    def map(self, frames):
        for frame in frames:
            yield self.samples[frame.index]

    def map_live(self, frames):
        yield from self.map(frames)


def settings(mode: str, clip_folder: Path) -> RenderSettings:
    table = cfg.load(mode)
    table["render"] = {"surface": "grass", "footwear": "sneaker"}
    table["scene"] = {"clip_model": str(clip_folder), "footwear_min_confidence": 1.0}
    return RenderSettings.from_config(table)


def read_wav(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1).reshape(-1, 2) / 2**31


def paced(items):
    start = time.monotonic_ns()
    for item in items:
        t = getattr(item, "t_ns", 0)
        if hasattr(item, "image"):
            wait = start + t - time.monotonic_ns()
            if wait > 0:
                time.sleep(wait / 1e9)
            yield type(item)(item.index, item.t_ns, item.duration_ns, item.width, item.height, item.image,
                             time.monotonic_ns())
        else:
            yield item


def run(mode, tmp_path, clip_folder):
    video = two_scene_video(tmp_path / "two.mp4")
    folder = banks_folder(tmp_path / "banks")
    s = settings(mode, clip_folder)
    plan, opening = prepare_scenes(s.scene, s.refresh, folder, burst_bank("concrete", 9), "grass", "sneaker")
    assert opening.name == "grass-bank" and plan.notice is None
    walkers = ProceduralWalkers(WalkerSceneParams(fps=30.0, duration_s=4.0))
    frames = lambda: video_items(VideoFileSource(video, VideoSourceParams()).frames())  # noqa: E731
    wav = tmp_path / "out.wav"
    try:
        if mode == "render":
            summary = run_pipeline(frames, s, AudioFileSink(wav, SR, 2), None, opening, pose_pool=TruePose(walkers),
                                   scenes=plan)
            audio = read_wav(wav)
        else:
            output = SoundCardSink(SoundCardParams(block=256), SR, 2, record=True, stream_factory=factory())
            summary = run_pipeline(lambda: paced(frames()), s, output, None, opening, pose_pool=TruePose(walkers),
                                   policy=LIVE, live_stats=LiveStats(), record_sink=AudioFileSink(wav, SR, 2),
                                   sup=Supervisor(), scenes=plan)
            audio = np.concatenate(output._stream.played)
    finally:
        plan.close()
    return summary, audio


def jumps(audio: np.ndarray) -> np.ndarray:
    return np.abs(np.diff(audio, axis=0)).max(axis=1)


def check(summary, audio, swap_sample):
    log = summary.scenes
    assert log.cuts == [CUT_NS]
    assert [(c.t_ns, c.surface) for c in log.changes] == [(CUT_NS, "wood")]
    assert [(w.bank, w.how) for w in summary.bank_swaps] == [("wood-bank", "loaded")]
    assert summary.steps >= 6
    d = jumps(audio)
    window = slice(max(swap_sample - 2048, 0), swap_sample + 2048)
    around, elsewhere = d[window].max(), np.delete(d, np.arange(len(d))[window]).max()
    assert elsewhere > 0.01  # steps sound on both sides
    assert around <= elsewhere  # no click where the bank changes: no jump larger than the content's own
    return around, elsewhere


def test_rendering_a_cut_gives_one_scene_change_one_bank_swap_and_no_click(tmp_path, clip_folder):
    summary, audio = run("render", tmp_path, clip_folder)
    check(summary, audio, CUT_NS * SR // 10**9)
    # the steps after the cut play the wood bank: its damped 420 Hz tone, where grass is noise
    assert summary.bank_swaps[0].t_ns == CUT_NS


def test_live_a_cut_gives_one_scene_change_one_bank_swap_and_no_click(tmp_path, clip_folder):
    summary, audio = run("live", tmp_path, clip_folder)
    # live, the swap is made at the block boundary the mixer had reached when the loaded bank was handed over
    check(summary, audio, summary.bank_swaps[0].at_sample)


def test_the_refresher_swaps_a_cached_bank_at_once_and_loads_others_in_the_background(tmp_path):
    folder = banks_folder(tmp_path / "banks")
    catalog = BankCatalog(folder)
    assert catalog.best("wood", "boot").name == "wood-bank" and catalog.best("ice", "boot") is None
    r = BankRefresher(folder, burst_bank("concrete", 3), RefreshParams(), renderer=None)
    grass = r.open("grass", "sneaker")
    assert grass.name == "grass-bank"
    assert r.bank_for(1, "wood", "sneaker") is None  # not in memory: loading in the background ...
    for _ in range(200):
        swap = r.ready()
        if swap is not None:
            break
        time.sleep(0.01)
    assert swap.bank.name == "wood-bank" and swap.how == "loaded"  # ... handed over when loaded
    back = r.bank_for(2, "grass", "sneaker")
    assert back.how == "cached" and back.bank is grass  # coming back: at once, from memory
    assert r.bank_for(3, "grass", "sneaker") is None  # already playing
    r.close()


RENDER_SCRIPT = """
import sys
from footfall.bank.format import save_bank
sys.path.insert(0, {tests!r})
from scene_media import burst_bank
surface, footwear, out = sys.argv[1:4]
save_bank(burst_bank(surface, 5), out)
"""


def test_a_bank_the_folder_lacks_is_rendered_by_the_configured_command(tmp_path):
    folder = banks_folder(tmp_path / "banks")
    script = tmp_path / "render_bank.py"
    script.write_text(RENDER_SCRIPT.format(tests=str(Path(__file__).parent)))
    params = RefreshParams(render_command=(sys.executable, str(script), "{surface}", "{footwear}", "{out}"),
                           watch_interval_s=0.05)
    r = BankRefresher(folder, burst_bank("concrete", 3), params)
    r.open("grass", "sneaker")
    swap = r.bank_for(5, "ice", "boot", wait=True)  # rendering a file waits for it
    assert swap.bank.name == "ice-bank" and swap.how == "loaded"
    assert (folder / "requests" / "ice-boot.json").is_file() and (folder / "ice-boot" / "manifest.json").is_file()
    assert load_bank(folder / "ice-boot").surfaces == ("ice",)
    # live: the request goes out, the nearest bank plays meanwhile, the rendered one is handed over when there
    assert r.bank_for(6, "snow", "boot") is None  # no bank for snow at hand: the ice bank plays on
    for _ in range(500):
        swap = r.ready()
        if swap is not None:
            break
        time.sleep(0.02)
    assert swap is not None and swap.bank.name == "snow-bank"
    r.close()


def test_a_failing_render_command_is_noted_and_the_current_bank_keeps_playing(tmp_path):
    folder = banks_folder(tmp_path / "banks")
    params = RefreshParams(render_command=(sys.executable, "-c", "import sys; sys.exit('no GPU here')"))
    r = BankRefresher(folder, burst_bank("concrete", 3), params)
    r.open("grass", "sneaker")
    assert r.bank_for(5, "ice", "boot", wait=True) is None
    assert any("no GPU here" in e for e in r.errors)
    r.close()


def test_render_and_live_take_scenes_on_the_command_line(tmp_path, clip_folder):
    import json
    import os
    import subprocess

    from test_sound_card import NULL_ALSA

    video = two_scene_video(tmp_path / "two.mp4")
    folder = banks_folder(tmp_path / "banks")
    conf = tmp_path / "scene.toml"
    conf.write_text("[scene]\nfootwear_min_confidence = 1.0\n")
    base = [sys.executable, "-m", "footfall.engine.cli"]
    common = ["--scenes", str(folder), "--clip-model", str(clip_folder), "--surface", "grass", "--config", str(conf),
              "--quiet"]
    r = subprocess.run(base + ["render", str(video), "-o", str(tmp_path / "out.wav")] + common, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "1 cuts, 1 scene changes (2.00 s wood), 1 bank swaps" in r.stdout
    asound = tmp_path / "asound.conf"
    asound.write_text(NULL_ALSA)
    stats = tmp_path / "stats.json"
    r = subprocess.run(base + ["live", str(video), "--stats-json", str(stats)] + common, capture_output=True,
                       text=True, timeout=300, env=dict(os.environ, ALSA_CONFIG_PATH=str(asound)))
    assert r.returncode == 0, r.stderr
    doc = json.loads(stats.read_text())["scenes"]
    assert doc["cuts_s"] == [2.0] and [c["surface"] for c in doc["changes"]] == ["wood"]
    assert [s["bank"] for s in doc["bank_swaps"]] == ["wood-bank"]
    r = subprocess.run(base + ["render", str(video), "-o", str(tmp_path / "plain.wav"), "--scenes", "--quiet"],
                       capture_output=True, text=True, timeout=300, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    assert r.returncode == 0 and r.stderr.count("no CLIP model") == 1 and "1 cuts, 0 scene changes" in r.stdout


def test_a_missing_bank_is_rendered_by_footfall_bank_render_with_a_tiny_stable_audio_model(tmp_path, monkeypatch):
    """The renderer the refresher is meant for: `footfall bank render` (bank/generation/) run as the configured
    command, on a tiny Stable Audio model with a LoRA adapter (tests/tiny_stable_audio.py), on the CPU."""
    from footfall.bank.generation.prompts import load_prompts as bank_prompts
    from tiny_stable_audio import lora_pairs, save_peft_adapter, save_tiny_model, tiny_model

    monkeypatch.setenv("FOOTFALL_CACHE", str(tmp_path / "cache"))  # the command's render cache, not the user's
    prompt = bank_prompts().prompt("gravel", "boot")
    model_dir = save_tiny_model(tmp_path / "model", prompts=(prompt,))
    _, model = tiny_model((prompt,))
    adapter = save_peft_adapter(tmp_path / "peft", lora_pairs(model, rank=4, scale=0.02), alpha=4.0)
    command = (sys.executable, "-m", "footfall.engine.cli", "bank", "render", "--surface", "{surface}",
               "--footwear", "{footwear}", "--variations", "3", "--model", str(model_dir), "--lora",
               f"{adapter}:0.5", "--device", "cpu", "--steps", "4", "--batch", "2", "--seconds", "1.0",
               "-o", "{out}")
    folder = banks_folder(tmp_path / "banks")
    r = BankRefresher(folder, burst_bank("concrete", 3), RefreshParams(render_command=command,
                                                                          watch_interval_s=0.05))
    try:
        r.open("grass", "sneaker")
        swap = r.bank_for(7, "gravel", "boot", wait=True)
        assert r.errors == []
        assert swap is not None and swap.how == "loaded" and swap.bank.surfaces == ("gravel",)
        assert all(e.provenance.startswith("generated:") for e in swap.bank.entries)
        assert BankCatalog(folder).best("gravel", "boot").path == folder / "gravel-boot"
    finally:
        r.close()
