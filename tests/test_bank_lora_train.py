"""`footfall bank train-lora` end to end on CPU with a tiny stable-audio-tools model (tests/tiny_stable_audio.py)
and synthetic footsteps, plus its parts: segmentation, captions, batches, the objective, checkpoints."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("stable_audio_tools")
torch = pytest.importorskip("torch")

from tiny_stable_audio import (CAPTIONS, TRAIN_SAMPLE_RATE as SAMPLE_RATE, TRAIN_SAMPLE_SIZE as SAMPLE_SIZE,  # noqa: E402
                               footstep_take, save_training_model, write_footstep_folder)

from footfall.bank.generation.dataset import TrainDataParams, find_segments, make_batch  # noqa: E402
from footfall.engine.cli import main  # noqa: E402

FAST = "[lora_train]\nvalidation_steps = 4\nvalidation_cfg_scale = 3.0\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("lora")
    data = write_footstep_folder(root / "data", sample_rate=44100, takes=1, steps=3)
    model = save_training_model(root / "model", CAPTIONS)
    fast = root / "fast.toml"
    fast.write_text(FAST)
    return {"data": data, "model": model, "fast": fast}


def _train(tiny, out, *extra):
    return main(["bank", "train-lora", "--data", str(tiny["data"]), "--model", str(tiny["model"]), "-o", str(out),
                 "--device", "cpu", "--config", str(tiny["fast"]), "--rank", "4", "--batch", "4", "--quiet", *extra])


# ------------------------------------------------------------------------------------------------------- data


def test_a_walk_is_cut_into_its_steps_with_heel_and_toe_together():
    take = footstep_take(SAMPLE_RATE, steps=4, brightness=0.5, seed=1)
    segments = find_segments(take, SAMPLE_RATE, TrainDataParams())
    assert len(segments) == 4
    for k, (start, stop) in enumerate(segments):
        heel = int((0.2 + k * 0.45) * SAMPLE_RATE)
        toe_end = heel + int(0.14 * SAMPLE_RATE)
        assert start < heel and stop > toe_end  # the toe burst 80 ms after the heel stays in the same clip
        assert stop <= int((0.2 + (k + 1) * 0.45) * SAMPLE_RATE)  # and the next step is not in it


def test_long_sequences_are_split_and_steady_noise_gives_nothing():
    take = footstep_take(SAMPLE_RATE, steps=6, brightness=0.5, seed=2, interval_s=0.2)  # no silence between steps
    longest = int(0.5 * SAMPLE_RATE)
    segments = find_segments(take, SAMPLE_RATE, TrainDataParams(), max_samples=longest)
    assert len(segments) >= 3 and all(b - a <= longest for a, b in segments)
    noise = np.random.default_rng(0).normal(0, 0.01, SAMPLE_RATE).astype(np.float32)
    assert find_segments(noise, SAMPLE_RATE, TrainDataParams()) == []


def test_clips_are_captioned_with_the_prompts_bank_render_uses(tmp_path):
    from footfall.bank.generation.dataset import load_training_clips
    from footfall.bank.generation.prompts import load_prompts

    clips = load_training_clips(write_footstep_folder(tmp_path, SAMPLE_RATE), SAMPLE_RATE, SAMPLE_SIZE,
                                TrainDataParams())
    prompts = load_prompts()
    assert {c.caption for c in clips} == {prompts.prompt("tile", "hard_sole"), prompts.prompt("wood", "sneaker")}
    assert sorted({c.caption for c in clips}) == sorted(CAPTIONS)


def test_batches_are_padded_or_cropped_with_whole_second_conditioning():
    from footfall.bank.generation.dataset import TrainingClip

    short = TrainingClip(np.ones(100, np.float32), "a", "s", "f", "x")
    long = TrainingClip(np.ones(3 * SAMPLE_RATE + 1, np.float32), "b", "s", "f", "y")
    audio, metadata = make_batch([short, long], [0, 1], 4096, 2, SAMPLE_RATE)
    assert audio.shape == (2, 2, 4096)
    assert audio[0, :, :100].min() == 1.0 and audio[0, :, 100:].max() == 0.0 and audio[1].min() == 1.0
    assert metadata == [{"prompt": "a", "seconds_start": 0, "seconds_total": 1},
                        {"prompt": "b", "seconds_start": 0, "seconds_total": 4}]


# ---------------------------------------------------------------------------------------- objective, checkpoints


@pytest.mark.parametrize("objective", ["v", "rectified_flow"])
def test_the_target_recovers_the_clean_latents(objective):
    from footfall.bank.generation.objective import alphas_sigmas, noised_and_target

    gen = torch.Generator().manual_seed(0)
    x, noise = torch.randn(3, 4, 5, generator=gen), torch.randn(3, 4, 5, generator=gen)
    t = torch.tensor([0.1, 0.5, 0.9])
    noised, target = noised_and_target(x, noise, t, objective)
    alphas, sigmas = alphas_sigmas(t, objective)
    if objective == "v":  # v-diffusion: x = alpha * z - sigma * v
        recovered = alphas * noised - sigmas * target
    else:  # rectified flow: z = x + t * (noise - x)
        recovered = noised - sigmas * target
    assert torch.allclose(recovered, x, atol=1e-5)


def test_optimizer_state_round_trips_through_safetensors_and_json(tmp_path):
    from footfall.bank.generation.checkpoint import load_trainer_state, save_checkpoint

    weights = [torch.nn.Parameter(torch.randn(3, 2)), torch.nn.Parameter(torch.randn(4))]
    opt = torch.optim.AdamW(weights, lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        sum((w ** 2).sum() for w in weights).backward()
        opt.step()
    state = {"step": 3, "optimizer": opt.state_dict(), "rng": torch.get_rng_state()}
    save_checkpoint(tmp_path / "ck", lambda d: None, state)
    back = load_trainer_state(tmp_path / "ck")
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["trainer.json", "trainer.safetensors"]
    assert back["step"] == 3 and torch.equal(back["rng"], state["rng"])
    assert back["optimizer"]["param_groups"] == state["optimizer"]["param_groups"]
    for i, values in state["optimizer"]["state"].items():
        for k, v in values.items():
            assert torch.equal(back["optimizer"]["state"][i][k], v)
    fresh = torch.optim.AdamW(weights, lr=1e-2)
    fresh.load_state_dict(back["optimizer"])


# ---------------------------------------------------------------------------------------------------- end to end


def test_training_lowers_the_loss_and_writes_adapter_checkpoints_and_validation(tiny, tmp_path, capsys):
    from peft import PeftModel

    from footfall.bank.format import read_wav
    from footfall.bank.generation.model import ModelSpec, dit_of, load_dit_model

    out = tmp_path / "adapter"
    assert _train(tiny, out, "--steps", "24", "--lr", "3e-3", "--checkpoint-every", "12",
                  "--validate-every", "12") == 0
    assert "adapter after 24 steps on 6 clips (2 captions)" in capsys.readouterr().out
    log = json.loads((out / "training.json").read_text())
    validation = dict((int(s), v) for s, v in log["validation_losses"])
    assert sorted(validation) == [0, 12, 24]
    # The loss at fixed timesteps and noise on a fixed batch falls as the adapters learn (measured: 0.82 -> 0.70).
    assert validation[24] < 0.92 * validation[0]
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-00000012", "step-00000024"]
    for step in ("step-00000012", "step-00000024"):
        wavs = sorted((out / "validation" / step).glob("*.wav"))
        assert [w.stem for w in wavs] == ["tile-hard-sole", "wood-sneaker"]
        for wav in wavs:
            audio, rate = read_wav(wav)
            assert rate == SAMPLE_RATE and audio.size == SAMPLE_SIZE and np.all(np.isfinite(audio))
            assert float(np.abs(audio).max()) > 0.0
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 4 and "to_qkv" in config["target_modules"]

    # The adapter loads back with peft alone and changes what the model predicts.
    model = load_dit_model(ModelSpec.parse(str(tiny["model"]))).model
    gen = torch.Generator().manual_seed(3)
    x, t = torch.randn(2, 8, SAMPLE_SIZE // 16, generator=gen), torch.tensor([0.3, 0.7])
    cond = model.conditioner([{"prompt": c, "seconds_start": 0, "seconds_total": 1} for c in CAPTIONS], "cpu")
    with torch.no_grad():
        before = model(x, t, cond=cond)
        adapted = PeftModel.from_pretrained(dit_of(model), str(out))
        after = model(x, t, cond=cond)
        with adapted.disable_adapter():
            disabled = model(x, t, cond=cond)
    assert torch.equal(before, disabled)
    assert float((after - before).abs().max()) > 1e-3 * float(before.abs().max())


def test_resuming_from_a_checkpoint_repeats_the_straight_run_bit_for_bit(tiny, tmp_path):
    from safetensors.torch import load_file

    straight, halves = tmp_path / "straight", tmp_path / "halves"
    common = ("--lr", "3e-3", "--checkpoint-every", "4", "--validate-every", "4")
    assert _train(tiny, straight, "--steps", "8", *common) == 0
    assert _train(tiny, halves, "--steps", "4", *common) == 0
    assert _train(tiny, halves, "--steps", "8", "--resume", *common) == 0
    a = load_file(str(straight / "adapter_model.safetensors"))
    b = load_file(str(halves / "adapter_model.safetensors"))
    assert sorted(a) == sorted(b) and len(a) > 0
    assert all(torch.equal(a[k], b[k]) for k in a)
    log_a, log_b = (json.loads((d / "training.json").read_text()) for d in (straight, halves))
    assert log_a["losses"] == log_b["losses"] and len(log_a["losses"]) == 8
    assert log_a["validation_losses"] == log_b["validation_losses"]


def test_a_checkpoint_of_other_adapters_is_not_resumed(tiny, tmp_path, capsys):
    out = tmp_path / "adapter"
    assert _train(tiny, out, "--steps", "2", "--checkpoint-every", "2", "--validate-every", "0") == 0
    capsys.readouterr()
    assert main(["bank", "train-lora", "--data", str(tiny["data"]), "--model", str(tiny["model"]), "-o", str(out),
                 "--device", "cpu", "--rank", "8", "--steps", "4", "--resume", "--quiet"]) == 1
    assert "made with other adapters or data (rank 4 now 8)" in _error(capsys)


# ---------------------------------------------------------------------------------------------------- bad input


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


def test_bad_inputs_are_one_line_errors(tiny, tmp_path, capsys):
    from footfall.bank.format import write_wav

    empty = tmp_path / "empty"
    empty.mkdir()
    assert _train({**tiny, "data": empty}, tmp_path / "a", "--steps", "1") == 1
    assert "no recordings found" in _error(capsys)

    silent = tmp_path / "silent" / "wood" / "boot"
    silent.mkdir(parents=True)
    write_wav(silent / "quiet.wav", np.zeros(SAMPLE_RATE, np.float32), SAMPLE_RATE)
    assert _train({**tiny, "data": tmp_path / "silent"}, tmp_path / "b", "--steps", "1") == 1
    assert "no usable segments" in _error(capsys)

    broken = tmp_path / "broken" / "wood" / "boot"
    broken.mkdir(parents=True)
    (broken / "step.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEnot really audio")
    assert _train({**tiny, "data": tmp_path / "broken"}, tmp_path / "c", "--steps", "1") == 1
    assert "step.wav" in _error(capsys)

    unet = tmp_path / "unet"
    unet.mkdir()
    config = json.loads((tiny["model"] / "model_config.json").read_text())
    config["model"]["diffusion"]["type"] = "adp_cfg_1d"
    (unet / "model_config.json").write_text(json.dumps(config))
    (unet / "model.safetensors").write_bytes((tiny["model"] / "model.safetensors").read_bytes())
    assert _train({**tiny, "model": unet}, tmp_path / "d", "--steps", "1") == 1
    assert "has no DiT" in _error(capsys)

    misfit = tmp_path / "misfit"
    misfit.mkdir()
    config = json.loads((tiny["model"] / "model_config.json").read_text())
    config["model"]["conditioning"]["configs"][0]["config"]["options"].append("boot footsteps on gravel")
    (misfit / "model_config.json").write_text(json.dumps(config))
    (misfit / "model.safetensors").write_bytes((tiny["model"] / "model.safetensors").read_bytes())
    assert _train({**tiny, "model": misfit}, tmp_path / "f", "--steps", "1") == 1
    assert "model.safetensors: does not fit model_config.json" in _error(capsys)

    assert _train(tiny, tmp_path / "e", "--steps", "1", "--resume") == 1
    assert "no checkpoint to resume from" in _error(capsys)

    done = tmp_path / "done"
    assert _train(tiny, done, "--steps", "1", "--validate-every", "0") == 0
    capsys.readouterr()
    before = (done / "adapter_model.safetensors").read_bytes()
    assert _train(tiny, done, "--steps", "1") == 1
    assert "already holds an adapter" in _error(capsys)
    assert (done / "adapter_model.safetensors").read_bytes() == before


def test_a_rectified_flow_model_trains_too(tiny, tmp_path):
    model = save_training_model(tmp_path / "rf", CAPTIONS, objective="rectified_flow")
    out = tmp_path / "adapter"
    assert _train({**tiny, "model": model}, out, "--steps", "16", "--lr", "3e-3", "--checkpoint-every", "0",
                  "--validate-every", "16") == 0
    log = json.loads((out / "training.json").read_text())
    assert log["objective"] == "rectified_flow"
    (first_step, first), (last_step, last) = log["validation_losses"]
    assert (first_step, last_step) == (0, 16) and last < 0.95 * first
    assert not (out / "checkpoints").exists()


def test_lora_train_settings_load_as_the_defaults():
    from footfall.bank.generation.lora_train import LoraTrainParams
    from footfall.engine import config as cfg

    table = cfg.read_preset("default")["lora_train"]
    assert cfg.params(LoraTrainParams, table, "default.toml [lora_train]") == LoraTrainParams()


def test_the_progress_bar_counts_steps_and_shows_the_loss():
    import io

    from footfall.engine.progress import CountProgress

    stream = io.StringIO()
    bar = CountProgress(10, "steps", stream=stream, enabled=True)
    bar.advance(4)
    bar.note = "loss 0.5000"
    bar.draw(force=True)
    bar.finish()
    assert "40.0%  4/10 steps" in stream.getvalue() and "loss 0.5000" in stream.getvalue()
