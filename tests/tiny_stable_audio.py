"""A tiny Stable Audio model (stable-audio-tools `diffusion_cond`, random weights) saved as a model directory, and
LoRA adapters for it in the three formats footfall reads: what the generation tests load through the product's own
loading code. Shared by the tests of rendering, LoRA training and bank refreshing.

The prompt goes through stable-audio-tools' `list` conditioner (a learned embedding per known prompt): its T5
conditioner needs t5-base from the hub, and no other text conditioner works offline.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from footfall.bank.generation.architectures import tiny
from footfall.bank.generation.model import build_model

DEFAULT_PROMPTS = ("footsteps",)
TRAIN_SAMPLE_RATE = 16000  # the training tests' model: 16 kHz, 8192-sample (0.512 s) windows
TRAIN_SAMPLE_SIZE = 8192


def tiny_model(prompts: tuple[str, ...] = DEFAULT_PROMPTS, seed: int = 0, seconds: float = 1.0,
               sample_rate: int = 44100, objective: str = "v", trained: bool = False):
    """(config, model) with deterministic random weights. `trained`: the DiT's zero-initialised output
    projections get small random weights too, as training would give them, so that a LoRA on them changes the
    output from its first step."""
    config = tiny(tuple(prompts), sample_rate=sample_rate, seconds=seconds, objective=objective)
    torch.manual_seed(seed)
    model = build_model(config)
    if trained:
        with torch.no_grad():
            for tensor in model.parameters():
                if tensor.ndim >= 2 and float(tensor.abs().max()) == 0.0:
                    tensor.normal_(0.0, 0.02)
    return config, model


def save_tiny_model(directory: Path, prompts: tuple[str, ...] = DEFAULT_PROMPTS, seed: int = 0,
                    seconds: float = 1.0, sample_rate: int = 44100, objective: str = "v",
                    trained: bool = False) -> Path:
    """directory/model_config.json + directory/model.safetensors; returns the directory."""
    from safetensors.torch import save_file

    config, model = tiny_model(prompts, seed, seconds, sample_rate, objective, trained)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model_config.json").write_text(json.dumps(config, indent=1))
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(directory / "model.safetensors"))
    return directory


def attention_layers(model) -> dict[str, torch.nn.Linear]:
    """The DiT's attention projections, by their names in the full model (`model.model.transformer...`)."""
    return {n: m for n, m in model.named_modules()
            if isinstance(m, torch.nn.Linear) and n.rsplit(".", 1)[-1] in ("to_qkv", "to_q", "to_kv", "to_out")}


def lora_pairs(model, rank: int = 4, seed: int = 1,
               scale: float = 0.05) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Random (A: rank x in, B: out x rank) for every attention projection, full-model names."""
    gen = torch.Generator().manual_seed(seed)
    return {name: (torch.randn(rank, layer.in_features, generator=gen) * scale,
                   torch.randn(layer.out_features, rank, generator=gen) * scale)
            for name, layer in attention_layers(model).items()}


def _relative_to_dit_wrapper(name: str) -> str:
    assert name.startswith("model.")
    return name[len("model."):]


def save_peft_adapter(directory: Path, pairs: dict, alpha: float, root_prefix: str = "model.model.") -> Path:
    """A directory as peft's save_pretrained writes it, with the DiT (`model.model`) as the peft base model."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rank = next(iter(pairs.values()))[0].shape[0]
    names = [n[len(root_prefix):] for n in pairs]
    config = {"peft_type": "LORA", "r": rank, "lora_alpha": alpha, "target_modules": names, "lora_dropout": 0.0,
              "bias": "none", "use_rslora": False, "use_dora": False, "rank_pattern": {}, "alpha_pattern": {},
              "task_type": None, "base_model_name_or_path": None}
    (directory / "adapter_config.json").write_text(json.dumps(config))
    tensors = {}
    for name, (a, b) in pairs.items():
        rel = name[len(root_prefix):]
        tensors[f"base_model.model.{rel}.lora_A.weight"] = a.contiguous()
        tensors[f"base_model.model.{rel}.lora_B.weight"] = b.contiguous()
    save_file(tensors, str(directory / "adapter_model.safetensors"))
    return directory


def save_official_lora(path: Path, pairs: dict, alpha: float) -> Path:
    """stable-audio-tools' format: keys relative to the DiT wrapper (`model.model`), lora_config in the metadata."""
    from safetensors.torch import save_file

    rank = next(iter(pairs.values()))[0].shape[0]
    tensors = {}
    for name, (a, b) in pairs.items():
        rel = _relative_to_dit_wrapper(name)
        tensors[f"{rel}.parametrizations.weight.0.lora_A"] = a.contiguous()
        tensors[f"{rel}.parametrizations.weight.0.lora_B"] = b.contiguous()
    meta = {"lora_config": json.dumps({"rank": rank, "alpha": alpha, "adapter_type": "lora"})}
    save_file(tensors, str(path), metadata=meta)
    return Path(path)


def save_loraw(path: Path, pairs: dict, alpha: float | None = None) -> Path:
    """LoRAW's format: '/'-separated paths from the whole model, lora_down (A) / lora_up (B); LoRAW itself saves
    with torch.save (a .ckpt of plain tensors), so that is what a `.ckpt` path gets; `.alpha` keys when given."""
    tensors = {}
    for name, (a, b) in pairs.items():
        key = name.replace(".", "/")
        tensors[f"{key}/lora_down.weight"] = a.contiguous()
        tensors[f"{key}/lora_up.weight"] = b.contiguous()
        if alpha is not None:
            tensors[f"{key}/alpha"] = torch.tensor(float(alpha))
    if str(path).endswith(".safetensors"):
        from safetensors.torch import save_file

        save_file(tensors, str(path))
    else:
        torch.save(tensors, str(path))
    return Path(path)


def save_training_model(directory: Path, captions, seed: int = 0, objective: str = "v") -> Path:
    """The LoRA-training tests' model: 16 kHz, 0.512 s windows, output projections not zero."""
    return save_tiny_model(directory, tuple(captions), seed, TRAIN_SAMPLE_SIZE / TRAIN_SAMPLE_RATE,
                           TRAIN_SAMPLE_RATE, objective, trained=True)


def footstep_take(sample_rate: int, steps: int, brightness: float, seed: int, interval_s: float = 0.45) -> "np.ndarray":
    """A synthetic walk: `steps` footstep-like clicks (a heel and a softer toe burst of decaying noise, low-passed
    by a one-pole filter whose coefficient `brightness` in (0, 1) sets the colour), `interval_s` apart, over a
    -70 dBFS noise floor."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int((0.2 + steps * interval_s + 0.3) * sample_rate)
    audio = rng.normal(0.0, 10 ** (-70 / 20), n)
    for k in range(steps):
        for delay, level in ((0.0, 1.0), (0.08, 0.5)):
            start = int((0.2 + k * interval_s + delay) * sample_rate)
            length = int(0.06 * sample_rate)
            burst = rng.normal(0.0, 0.3 * level, length) * np.exp(-np.arange(length) / (0.012 * sample_rate))
            smoothed = np.empty_like(burst)
            state = 0.0
            for i, x in enumerate(burst):
                state = brightness * x + (1 - brightness) * state
                smoothed[i] = state
            audio[start:start + length] += smoothed / max(brightness, 1e-3) ** 0.5
    return audio.astype(np.float32)


def write_footstep_folder(root: Path, sample_rate: int = 44100, takes: int = 1, steps: int = 3) -> Path:
    """A training folder `<surface>/<footwear>/take-N.wav` of synthetic walks: wood/sneaker (dull) and
    tile/hard_sole (bright)."""
    from footfall.bank.format import write_wav

    root = Path(root)
    for surface, footwear, brightness in (("wood", "sneaker", 0.15), ("tile", "hard_sole", 0.9)):
        folder = root / surface / footwear
        folder.mkdir(parents=True, exist_ok=True)
        for take in range(takes):
            audio = footstep_take(sample_rate, steps, brightness, seed=hash((surface, take)) % 1000)
            write_wav(folder / f"take-{take}.wav", audio, sample_rate)
    return root


def _training_captions() -> list[str]:
    from footfall.bank.generation.prompts import load_prompts

    prompts = load_prompts()
    return [prompts.prompt("tile", "hard_sole"), prompts.prompt("wood", "sneaker")]


CAPTIONS = _training_captions()  # what write_footstep_folder's two folders are captioned
