"""`footfall bank render` end to end on the CPU with a tiny Stable Audio model and LoRA adapters in all three
formats; the rendered bank plays in `footfall render --bank`; renders are cached; bad inputs are one-line errors.

The tiny model has random weights, so what it generates is noise, not footsteps: the test proves the path (model,
adapters, prompts, sampling, slicing, bank format, provenance, cache, playback), not the sound. Slicing itself is
tested on known clips in test_generation_slicing.py.
"""
import json
import subprocess
import sys

import numpy as np
import pytest

from footfall.bank.format import load_bank
from footfall.bank.generation.prompts import load_prompts
from footfall.engine.cli import main
from media import make_video
from tiny_stable_audio import lora_pairs, save_loraw, save_official_lora, save_peft_adapter, save_tiny_model, tiny_model

SURFACE, FOOTWEAR = "gravel", "boot"


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    root = tmp_path_factory.mktemp("render")
    prompt = load_prompts().prompt(SURFACE, FOOTWEAR)
    model_dir = save_tiny_model(root / "model", prompts=(prompt,))
    _, model = tiny_model((prompt,))
    pairs = lora_pairs(model, rank=4, scale=0.02)
    loras = [save_peft_adapter(root / "peft", pairs, alpha=4.0),
             save_official_lora(root / "official.safetensors", lora_pairs(model, rank=2, seed=3, scale=0.02), 2.0),
             save_loraw(root / "loraw.ckpt", lora_pairs(model, rank=4, seed=4, scale=0.02))]
    return root, model_dir, loras, prompt


def render_args(model_dir, loras, out, seed=0, strengths=("0.5", "1", "0.25")):
    adapters = [a for path, strength in zip(loras, strengths) for a in ("--lora", f"{path}:{strength}")]
    return ["bank", "render", "--surface", SURFACE, "--footwear", FOOTWEAR, "--variations", "3",
            "--model", str(model_dir), *adapters, "--device", "cpu", "--steps", "4", "--batch", "2",
            "--seconds", "1.0", "--seed", str(seed), "-o", str(out)]


def test_render_writes_a_bank_with_provenance_and_caches_it(assets, tmp_path, monkeypatch, capsys):
    root, model_dir, loras, prompt = assets
    monkeypatch.setenv("FOOTFALL_CACHE", str(tmp_path / "cache"))
    assert main(render_args(model_dir, loras, tmp_path / "bank")) == 0
    first = capsys.readouterr()
    assert "samples from" in first.out and "from the cache" not in first.out
    assert first.err.count("LoRA ") == 3 and "(peft," in first.err and "(loraw," in first.err
    bank = load_bank(tmp_path / "bank")
    assert 1 <= len(bank.entries) <= 3 and bank.sample_rate == 48000
    assert bank.surfaces == (SURFACE,) and bank.footwears == (FOOTWEAR,)
    for i, entry in enumerate(bank.entries):
        fields = dict(part.split("=", 1) for part in entry.provenance.split(";")[1:])
        assert entry.provenance.startswith("generated:model@")
        assert fields["sampler"] == "dpmpp-3m-sde" and fields["steps"] == "4" and fields["seed"] == "0"
        assert [l.split("*")[1] for l in fields["lora"].split("+")] == ["0.5", "1", "0.25"]
        assert __import__("urllib.parse").parse.unquote(fields["prompt"]) == prompt
        clip = bank.clip(i)
        assert 0 < entry.onset < clip.size and np.max(np.abs(clip)) <= 10 ** (-1 / 20) + 1e-6

    assert main(render_args(model_dir, loras, tmp_path / "again")) == 0  # the same render: from the cache
    assert "from the cache" in capsys.readouterr().out
    again = load_bank(tmp_path / "again")
    assert [e.provenance for e in again.entries] == [e.provenance for e in bank.entries]
    np.testing.assert_array_equal(again.audio, bank.audio)

    assert main(render_args(model_dir, loras, tmp_path / "other", seed=1)) == 0  # another seed renders afresh
    assert "from the cache" not in capsys.readouterr().out
    assert not np.array_equal(load_bank(tmp_path / "other").audio[:1000], bank.audio[:1000])

    video = make_video(tmp_path / "in.mp4", seconds=1.0, fps=25, size=(128, 96))
    result = subprocess.run([sys.executable, "-m", "footfall.engine.cli", "render", str(video), "-o",
                             str(tmp_path / "out.wav"), "--bank", str(tmp_path / "bank"), "--surface", SURFACE,
                             "--footwear", FOOTWEAR, "--quiet"], capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr


def test_a_generated_bank_plays_in_the_graph(assets, tmp_path, monkeypatch):
    """Procedural walkers through the render graph with the generated bank: sound at every step."""
    from footfall.engine.demo import scene_items
    from footfall.engine.messages import ns_to_samples
    from footfall.engine.render import run_pipeline
    from footfall.sinks.audio_file import AudioFileSink
    from footfall.sources.procedural_walkers import ProceduralWalkers, WalkerSceneParams
    from test_render_pipeline import exact_settings, read_audio

    root, model_dir, loras, _ = assets
    monkeypatch.setenv("FOOTFALL_CACHE", str(tmp_path / "cache"))
    assert main(render_args(model_dir, loras[:1], tmp_path / "bank")) == 0
    bank = load_bank(tmp_path / "bank")
    walkers = ProceduralWalkers(WalkerSceneParams(duration_s=4.0))
    settings = exact_settings(mode="render")
    settings = settings.__class__(**{**settings.__dict__, "render": settings.render.__class__(
        **{**settings.render.__dict__, "surface": SURFACE, "footwear": FOOTWEAR})})
    summary = run_pipeline(lambda: scene_items(walkers), settings, AudioFileSink(tmp_path / "o.wav", 48000, 2),
                           None, bank)
    audio = read_audio(tmp_path / "o.wav")
    assert summary.steps >= 4
    for event in summary.events:
        at = ns_to_samples(event.t_ns, 48000)
        assert np.max(np.abs(audio[:, at:at + 2400])) > 0.01  # the sample sounds where the step is


def one_line_failure(args, capsys) -> str:
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("footfall bank: ") and "\n" not in err and "Traceback" not in err
    return err


def test_bad_models_and_adapters_are_one_line_errors(assets, tmp_path, monkeypatch, capsys):
    import torch

    root, model_dir, loras, _ = assets
    monkeypatch.setenv("FOOTFALL_CACHE", str(tmp_path / "cache"))
    base = render_args(model_dir, loras[:1], tmp_path / "bank")
    with_model = lambda spec: base[:base.index("--model") + 1] + [spec] + base[base.index("--model") + 2:]
    assert "no such model directory" in one_line_failure(with_model(str(tmp_path / "nothing")), capsys)
    offline = one_line_failure(with_model("stabilityai/stable-audio-open-1.0"), capsys)
    assert "hub repo stabilityai/stable-audio-open-1.0" in offline
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "model_config.json").write_text((model_dir / "model_config.json").read_text())
    torch.save({"state_dict": {}, "trainer": Exotic()}, str(pickled / "model.ckpt"))
    assert "refusing an unsafe pickle" in one_line_failure(with_model(str(pickled)), capsys)
    other = save_tiny_model(tmp_path / "other", prompts=("x", "y"))  # a list conditioner of another size
    mixed = f"{model_dir / 'model_config.json'},{other / 'model.safetensors'}"
    assert "does not fit" in one_line_failure(with_model(mixed), capsys)
    (tmp_path / "notes.txt").write_text("hello")
    lora_at = base.index("--lora") + 1
    assert "unknown LoRA file type" in one_line_failure(base[:lora_at] + [str(tmp_path / "notes.txt")]
                                                         + base[lora_at + 1:], capsys)
    bad = json.loads((model_dir / "model_config.json").read_text()) | {"model_type": "autoencoder"}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert "not a stable-audio-tools text-to-audio config" in one_line_failure(
        with_model(f"{tmp_path / 'bad.json'},{model_dir / 'model.safetensors'}"), capsys)


class Exotic:
    """Something a pickle has to import a class for: weights-only loading refuses it."""
