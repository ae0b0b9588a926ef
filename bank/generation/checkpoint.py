"""Training checkpoints without pickle: tensors in safetensors, everything else in JSON.

A checkpoint is a directory `checkpoints/step-NNNNNNNN/` holding the adapter as peft saves it, `trainer.safetensors`
(the optimizer's tensors and torch's RNG state) and `trainer.json` (step, the optimizer state's structure with its
plain values, NumPy's RNG state, the losses so far). Nested state (a torch optimizer's `state_dict()`) is flattened:
each tensor goes to safetensors under a path-like key and is replaced in the JSON by {"tensor": key}. Directories
are written under a temporary name and renamed, so a run stopped while saving leaves the previous checkpoint as the
latest valid one.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch

CHECKPOINTS_DIR = "checkpoints"
TRAINER_TENSORS = "trainer.safetensors"
TRAINER_JSON = "trainer.json"
_PREFIX = "step-"


class CheckpointError(ValueError):
    """A checkpoint cannot be read back; one line naming it."""


def flatten(value: Any, tensors: dict[str, torch.Tensor], key: str = "") -> Any:
    """`value` with every tensor moved into `tensors` (keyed by its path) and replaced by {"tensor": path}.
    Dict keys become strings; their original type (int keys of optimizer state) is kept as {"int_keys": [...]}."""
    if isinstance(value, torch.Tensor):
        tensors[key] = value.detach().cpu().contiguous()
        return {"tensor": key}
    if isinstance(value, dict):
        out = {str(k): flatten(v, tensors, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
        ints = [str(k) for k in value if isinstance(k, int)]
        return {"dict": out, "int_keys": ints} if ints else {"dict": out}
    if isinstance(value, (list, tuple)):
        kind = "tuple" if isinstance(value, tuple) else "list"  # Adam's betas are a tuple
        return {kind: [flatten(v, tensors, f"{key}.{i}") for i, v in enumerate(value)]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"value": value}
    raise TypeError(f"cannot checkpoint a {type(value).__name__} at {key or 'top level'}")


def unflatten(node: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """The inverse of `flatten`."""
    if "tensor" in node:
        return tensors[node["tensor"]]
    if "dict" in node:
        ints = set(node.get("int_keys", ()))
        return {(int(k) if k in ints else k): unflatten(v, tensors) for k, v in node["dict"].items()}
    if "list" in node:
        return [unflatten(v, tensors) for v in node["list"]]
    if "tuple" in node:
        return tuple(unflatten(v, tensors) for v in node["tuple"])
    return node["value"]


def checkpoint_dir(out_dir: Path, step: int) -> Path:
    return Path(out_dir) / CHECKPOINTS_DIR / f"{_PREFIX}{step:08d}"


def latest_checkpoint(out_dir: Path) -> Path | None:
    """The checkpoint with the highest step under `out_dir`, or None."""
    root = Path(out_dir) / CHECKPOINTS_DIR
    if not root.is_dir():
        return None
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(_PREFIX) and p.name[len(_PREFIX):].isdigit()
             and (p / TRAINER_JSON).is_file()]
    return max(found, key=lambda p: int(p.name[len(_PREFIX):])) if found else None


def save_checkpoint(directory: Path, write_adapter, trainer_state: dict[str, Any]) -> None:
    """Writes a checkpoint atomically: `write_adapter(tmp_dir)` saves the adapter, `trainer_state` the rest."""
    from safetensors.torch import save_file

    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write_adapter(tmp)
    tensors: dict[str, torch.Tensor] = {}
    structure = flatten(trainer_state, tensors)
    save_file(tensors, str(tmp / TRAINER_TENSORS))
    (tmp / TRAINER_JSON).write_text(json.dumps(structure))
    if directory.exists():
        shutil.rmtree(directory)
    os.replace(tmp, directory)


def load_trainer_state(directory: Path) -> dict[str, Any]:
    """The trainer state saved in a checkpoint; CheckpointError names the checkpoint if it is unreadable."""
    from safetensors.torch import load_file

    directory = Path(directory)
    try:
        structure = json.loads((directory / TRAINER_JSON).read_text())
        tensors = load_file(str(directory / TRAINER_TENSORS))
        return unflatten(structure, tensors)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CheckpointError(f"{directory}: unreadable checkpoint ({reason})") from None
