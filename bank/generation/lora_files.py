"""LoRA adapter files in the three formats people have, read into one form and checked against the model.

- peft (what `footfall bank train-lora` writes): a directory with adapter_config.json and adapter_model.safetensors
  (keys `base_model.model.<module>.lora_A.weight` / `lora_B.weight`; scaling lora_alpha / r, or / sqrt(r) with
  use_rslora; rank_pattern / alpha_pattern per module).
- stable-audio-tools (`models/lora` from 0.0.20): a .safetensors with a JSON `lora_config` (rank, alpha,
  adapter_type) in its metadata, or a .ckpt of {state_dict, lora_config}; keys
  `<module>.parametrizations.weight.0.lora_A` (rank x in) / `lora_B` (out x rank), modules named from the DiT
  wrapper (`model.transformer...`) or the conditioner; scaling alpha / rank (alpha defaults to the rank).
- LoRAW (the community library the public footstep LoRAs were trained with):
  `model/model/transformer/.../lora_down.weight` / `lora_up.weight` ('/' for '.', from the whole model; ComfyUI
  copies use `lora_unet_` and '_'), optional `alpha` per module, scaling alpha / rank (LoRAW's default alpha is the
  rank).

Each becomes `AdapterWeights`: per Linear layer of the model (full names, `model.model.transformer...`), A, B and
the scaling. Anything that does not fit (no LoRA tensors, keys naming no layer, shapes or ranks that disagree,
adapter kinds other than plain LoRA) is a LoraError: one line naming the file and what does not fit.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from footfall.bank.generation.model import ModelError, file_sha256, read_state_dict

PEFT_CONFIG = "adapter_config.json"
PEFT_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
OFFICIAL_A, OFFICIAL_B = ".parametrizations.weight.0.lora_A", ".parametrizations.weight.0.lora_B"
# Where other tools root their module names, relative to the ConditionedDiffusionModelWrapper.
ROOTS = ("", "model.", "model.model.")


class LoraError(ModelError):
    """A LoRA file cannot be used with this model; one line naming the file and the problem."""


@dataclass(frozen=True, eq=False)
class AdapterWeights:
    """One adapter file, read: layers maps a full module name to (A: r x in, B: out x r, scaling)."""

    path: Path
    format: str
    sha256: str
    layers: dict

    @property
    def ranks(self) -> tuple[int, ...]:
        return tuple(sorted({int(a.shape[0]) for a, _, _ in self.layers.values()}))


def read_adapter(path: Path, model) -> AdapterWeights:
    """The adapter at `path` (a peft directory or a single file), checked against `model` (the wrapper)."""
    path = Path(path)
    if not path.exists():
        raise LoraError(f"{path}: LoRA file not found")
    linear = _linear_layers(model)
    if path.is_dir():
        fmt, layers, digest = "peft", *_read_peft(path, linear)
    else:
        state, config = _read_file(path)
        digest = file_sha256(path)
        if any(k.endswith((OFFICIAL_A, OFFICIAL_B)) for k in state):
            fmt, layers = "stable-audio-tools", _official_layers(path, state, config, linear)
        elif any(k.endswith(("lora_down.weight", "lora_up.weight")) for k in state):
            fmt, layers = "loraw", _loraw_layers(path, state, linear)
        elif any(".lora_A." in k for k in state):
            raise LoraError(f"{path}: peft adapter weights without their {PEFT_CONFIG}: give the adapter's directory")
        else:
            raise LoraError(f"{path}: not a LoRA adapter (no lora_A/lora_B or lora_down/lora_up tensors)")
    if not layers:
        raise LoraError(f"{path}: holds no LoRA layers")
    return AdapterWeights(path, fmt, digest, layers)


def adapter_digest(path: Path) -> str:
    """SHA-256 identifying an adapter: a file's own, or a peft directory's config and weights together."""
    path = Path(path)
    if not path.exists():
        raise LoraError(f"{path}: LoRA file not found")
    if not path.is_dir():
        return file_sha256(path)
    import hashlib

    parts = [path / PEFT_CONFIG] + [path / n for n in PEFT_WEIGHTS if (path / n).is_file()]
    if not all(p.is_file() for p in parts) or len(parts) < 2:
        raise LoraError(f"{path}: a peft adapter directory needs {PEFT_CONFIG} and {PEFT_WEIGHTS[0]}")
    return hashlib.sha256("".join(file_sha256(p) for p in parts).encode()).hexdigest()


def _linear_layers(model) -> dict:
    """Full name -> nn.Linear of every layer LoRA can adapt (a layer already holding adapters: its base layer)."""
    import torch

    layers = {}
    for name, module in model.named_modules():
        base = getattr(module, "base_layer", None)
        if isinstance(base, torch.nn.Linear):
            layers[name] = base
        elif isinstance(module, torch.nn.Linear) and not name.endswith(".base_layer") and ".lora_" not in name:
            layers[name] = module
    return layers


def _read_file(path: Path) -> tuple[dict, dict]:
    """(tensors, lora_config) of a single-file adapter."""
    config: dict = {}
    if path.suffix == ".safetensors":
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
        except Exception as exc:
            raise LoraError(f"{path}: not a readable safetensors file ({str(exc).splitlines()[0][:120]})") from None
        if "lora_config" in meta:
            try:
                config = json.loads(meta["lora_config"])
            except json.JSONDecodeError:
                raise LoraError(f"{path}: its lora_config metadata is not JSON") from None
        return _as_lora_error(read_state_dict, path), config
    if path.suffix in (".ckpt", ".pt", ".pth"):
        import torch

        try:
            raw = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception:
            raw = None
        if isinstance(raw, dict) and isinstance(raw.get("lora_config"), dict):
            config = raw["lora_config"]
        return _as_lora_error(read_state_dict, path), config
    raise LoraError(f"{path}: unknown LoRA file type (expected a peft directory, .safetensors or .ckpt)")


def _as_lora_error(fn, path: Path):
    try:
        return fn(path, "LoRA file")
    except LoraError:
        raise
    except ModelError as exc:
        raise LoraError(str(exc)) from None


def _resolve(path: Path, module: str, linear: dict) -> str:
    """The full name of the Linear layer a file's module name means, trying the roots other tools use."""
    for root in ROOTS:
        if root + module in linear:
            return root + module
    raise LoraError(f"{path}: {module!r} names no linear layer of the model")


def _check_pair(path: Path, name: str, a, b, layer) -> None:
    if a.ndim != 2 or b.ndim != 2:
        raise LoraError(f"{path}: {name}: LoRA tensors must be matrices, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[0] != b.shape[1]:
        raise LoraError(f"{path}: {name}: rank mismatch, A has rank {a.shape[0]} but B has {b.shape[1]}")
    if a.shape[1] != layer.in_features or b.shape[0] != layer.out_features:
        raise LoraError(f"{path}: {name}: LoRA is {b.shape[0]}x{a.shape[1]} (out x in), the layer is "
                        f"{layer.out_features}x{layer.in_features}")


def _pairs(path: Path, down: dict, up: dict, linear: dict, scaling_of) -> dict:
    """{full name: (A, B, scaling)} from file-module-name -> A / B maps, every pair complete and fitting."""
    missing = sorted(set(down) ^ set(up))
    if missing:
        raise LoraError(f"{path}: {missing[0]!r} has only one of its two LoRA matrices")
    layers = {}
    for module in sorted(down):
        name = _resolve(path, module, linear)
        a, b = down[module].float(), up[module].float()
        _check_pair(path, name, a, b, linear[name])
        layers[name] = (a, b, float(scaling_of(module, int(a.shape[0]))))
    return layers


def _read_peft(directory: Path, linear: dict) -> tuple[dict, str]:
    config_path = directory / PEFT_CONFIG
    weights = [directory / n for n in PEFT_WEIGHTS if (directory / n).is_file()]
    if not config_path.is_file() or not weights:
        raise LoraError(f"{directory}: a peft adapter directory needs {PEFT_CONFIG} and {PEFT_WEIGHTS[0]}")
    try:
        config = json.loads(config_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise LoraError(f"{config_path}: not a readable adapter config ({exc})") from None
    if config.get("peft_type", "LORA") != "LORA":
        raise LoraError(f"{config_path}: peft_type {config.get('peft_type')!r} is not LORA")
    if config.get("use_dora"):
        raise LoraError(f"{config_path}: DoRA adapters are not supported (plain LoRA only)")
    rank, alpha = int(config.get("r", 8)), float(config.get("lora_alpha", 8))
    rank_pattern, alpha_pattern = config.get("rank_pattern") or {}, config.get("alpha_pattern") or {}
    rslora = bool(config.get("use_rslora"))
    state = _as_lora_error(read_state_dict, weights[0])
    down, up = {}, {}
    for key, value in state.items():
        module = key.removeprefix("base_model.model.")
        for suffix, target in ((".lora_A.weight", down), (".lora_B.weight", up)):
            if module.endswith(suffix):
                module = module[: -len(suffix)]
                target[module.rsplit(".", 1)[0] if module.endswith(".default") else module] = value
                break
        else:
            raise LoraError(f"{weights[0]}: {key!r} is not a LoRA weight (lora_A/lora_B)")

    def scaling(module: str, r: int) -> float:
        want = next((v for k, v in rank_pattern.items() if module == k or module.endswith("." + k)), rank)
        if int(want) != r:
            raise LoraError(f"{weights[0]}: {module}: rank {r}, but {PEFT_CONFIG} says {want}")
        a = float(next((v for k, v in alpha_pattern.items() if module == k or module.endswith("." + k)), alpha))
        return a / math.sqrt(r) if rslora else a / r

    return _pairs(weights[0], down, up, linear, scaling), adapter_digest(directory)


def _official_layers(path: Path, state: dict, config: dict, linear: dict) -> dict:
    adapter_type = config.get("adapter_type", "lora")
    if adapter_type != "lora":
        raise LoraError(f"{path}: adapter_type {adapter_type!r} is not supported (plain LoRA only)")
    down, up = {}, {}
    for key, value in state.items():
        if key.endswith(OFFICIAL_A):
            down[key[: -len(OFFICIAL_A)]] = value
        elif key.endswith(OFFICIAL_B):
            up[key[: -len(OFFICIAL_B)]] = value
        else:
            raise LoraError(f"{path}: {key!r} is not a plain LoRA weight (lora_A/lora_B)")
    ranks = {int(v.shape[0]) for v in down.values() if v.ndim == 2}
    rank = int(config.get("rank", min(ranks) if ranks else 1))
    alpha = float(config.get("alpha", rank))

    def scaling(module: str, r: int) -> float:
        if r != rank:
            raise LoraError(f"{path}: {module}: rank {r}, but its lora_config says {rank}")
        return alpha / r

    return _pairs(path, down, up, linear, scaling)


def _loraw_layers(path: Path, state: dict, linear: dict) -> dict:
    comfy = {n.replace(".", "_"): n for n in linear}
    down, up, alphas = {}, {}, {}
    for key, value in state.items():
        if "dora_mag" in key or "dora_scale" in key:
            raise LoraError(f"{path}: DoRA weights ({key!r}) are not supported (plain LoRA only)")
        for suffix, target in (("lora_down.weight", down), ("lora_up.weight", up), ("alpha", alphas)):
            if key.endswith(suffix):
                module = key[: -len(suffix)].rstrip("/._")
                break
        else:
            raise LoraError(f"{path}: {key!r} is not a LoRAW weight (lora_down/lora_up/alpha)")
        if module.startswith("lora_unet_"):  # ComfyUI's naming: from the DiT, '_' for '.'
            flat = module[len("lora_unet_"):]
            module = next((comfy[r.replace(".", "_") + flat] for r in ROOTS if r.replace(".", "_") + flat in comfy),
                          flat)
        target[module.replace("/", ".")] = value
    unknown = sorted(set(alphas) - set(down))
    if unknown:
        raise LoraError(f"{path}: alpha for {unknown[0]!r}, which has no LoRA weights")

    def scaling(module: str, r: int) -> float:
        return float(alphas[module]) / r if module in alphas else 1.0

    return _pairs(path, down, up, linear, scaling)
