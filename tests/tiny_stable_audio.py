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


def tiny_model(prompts: tuple[str, ...] = DEFAULT_PROMPTS, seed: int = 0, seconds: float = 1.0):
    """(config, model) with deterministic random weights."""
    config = tiny(tuple(prompts), seconds=seconds)
    torch.manual_seed(seed)
    return config, build_model(config)


def save_tiny_model(directory: Path, prompts: tuple[str, ...] = DEFAULT_PROMPTS, seed: int = 0,
                    seconds: float = 1.0) -> Path:
    """directory/model_config.json + directory/model.safetensors; returns the directory."""
    from safetensors.torch import save_file

    config, model = tiny_model(prompts, seed, seconds)
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
