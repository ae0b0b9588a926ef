"""The Stable Audio model LoRA training starts from, and the DiT inside it.

`load_model_for_training` is the minimal loader training needs: a directory in the layout Stable Audio Open ships
(`model_config.json` + `model.safetensors`), built with stable-audio-tools' own factory and loaded from safetensors
only (never a pickle). It stands in for the rendering side's loader (`bank/generation/model.py`), which should
replace it once both exist in one tree.
"""
from __future__ import annotations

import contextlib
import io
import json
import warnings
from pathlib import Path

from footfall.bank.format import BankError

CONFIG_NAME = "model_config.json"
WEIGHTS_NAME = "model.safetensors"


class ModelError(BankError):
    """The model cannot be used for training; one line naming the file and the problem."""


def load_model_for_training(spec: str | Path):
    """(the `ConditionedDiffusionModelWrapper`, its config dict), on the CPU in float32, every weight frozen."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(spec)
    config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
    if not directory.is_dir():
        raise ModelError(f"{directory}: model not found (expected a directory with {CONFIG_NAME} and {WEIGHTS_NAME})")
    for path in (config_path, weights_path):
        if not path.is_file():
            raise ModelError(f"{path}: missing (a model directory holds {CONFIG_NAME} and {WEIGHTS_NAME})")
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{config_path}: not a readable JSON model config ({exc})") from None
    check_has_dit(config, config_path)
    model = _build(config, config_path)
    try:
        state = load_file(str(weights_path))
    except (OSError, SafetensorError) as exc:
        raise ModelError(f"{weights_path}: not readable safetensors ({exc})") from None
    missing, unexpected = _compare_keys(model.state_dict(), state)
    if missing or unexpected:
        raise ModelError(f"{weights_path}: does not fit {config_path.name}: {len(missing)} missing "
                         f"(e.g. {', '.join(missing[:2]) or '-'}), {len(unexpected)} unexpected "
                         f"(e.g. {', '.join(unexpected[:2]) or '-'})")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        reason = str(exc).splitlines()[-1].strip()
        raise ModelError(f"{weights_path}: does not fit {config_path.name} ({reason})") from None
    model.float().eval().requires_grad_(False)
    return model, config


def check_has_dit(config: dict, where: Path) -> None:
    """A `diffusion_cond` model whose diffusion network is a DiT, or ModelError."""
    kind = config.get("model_type") if isinstance(config, dict) else None
    if kind not in ("diffusion_cond", "diffusion_cond_inpaint"):
        raise ModelError(f"{where}: model_type is {kind!r}, LoRA training needs a 'diffusion_cond' model")
    net = ((config.get("model") or {}).get("diffusion") or {}).get("type")
    if net != "dit":
        raise ModelError(f"{where}: the model has no DiT (its diffusion network is {net!r}); LoRA training needs 'dit'")


def _build(config: dict, where: Path):
    # Importing stable-audio-tools prints a note on flash-attn to stdout, and building its autoencoder warns that
    # torch's weight_norm is deprecated: neither is the user's business.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from stable_audio_tools.models.factory import create_model_from_config

        try:
            return create_model_from_config(config)
        except (AssertionError, KeyError, TypeError, ValueError, NotImplementedError) as exc:
            raise ModelError(f"{where}: cannot build the model ({type(exc).__name__}: {exc})") from None


def _compare_keys(expected: dict, got: dict) -> tuple[list[str], list[str]]:
    return sorted(set(expected) - set(got)), sorted(set(got) - set(expected))


def dit_of(model):
    """The DiffusionTransformer inside a diffusion_cond model (LoRA's target)."""
    from stable_audio_tools.models.dit import DiffusionTransformer

    inner = getattr(getattr(model, "model", None), "model", None)
    if not isinstance(inner, DiffusionTransformer):
        raise ModelError(f"the model has no DiT (found {type(inner).__name__})")
    return inner
