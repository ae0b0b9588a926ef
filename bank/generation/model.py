"""Loads a Stable Audio model through stable-audio-tools: a model config plus a checkpoint, from disk or the hub.

Everything that generates or trains goes through `load_model`, so a model is identified the same way everywhere
(its config's and checkpoint's SHA-256, which also key the render cache). Weights are read from safetensors, or
from a `.ckpt`/`.pt` only through `torch.load(weights_only=True)`: a pickle that would run code is refused.

A model is named by `ModelSpec.parse(text)`:
- a directory holding `model_config.json` and `model.safetensors` (or `model.ckpt`), as the hub repositories of
  Stable Audio Open are laid out;
- `CONFIG.json,CHECKPOINT`: the two files, each a local path or `owner/repo/file` on the Hugging Face hub;
- `owner/repo`: a hub repository laid out like the directory above.
The hub is reached through huggingface_hub; where it cannot be reached the error is one line naming the repo.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

CONFIG_NAME = "model_config.json"
CHECKPOINT_NAMES = ("model.safetensors", "model.ckpt")
PICKLE_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin")


class ModelError(ValueError):
    """A model cannot be loaded; the message is one line naming the file (or hub repo) and the problem."""


@dataclass(frozen=True)
class ModelSpec:
    """Which model, on which device, in which precision.

    config / checkpoint: a local path or a hub reference `owner/repo/path/in/repo`. checkpoint None: random weights
    (benchmarks only: speed does not depend on the weights). device: "cpu" or "cuda" ("cuda:N" too). dtype: "auto"
    is bf16 on a GPU and fp32 on the CPU; fp16/bf16 are refused on the CPU (its kernels for them are slow or absent).
    """

    config: str
    checkpoint: str | None
    device: str = "cpu"
    dtype: Literal["auto", "fp32", "fp16", "bf16"] = "auto"

    def __post_init__(self) -> None:
        if not self.config:
            raise ValueError("a model needs a config")
        if not (self.device == "cpu" or self.device.startswith("cuda")):
            raise ValueError(f"device must be cpu or cuda, not {self.device!r}")
        if self.dtype not in ("auto", "fp32", "fp16", "bf16"):
            raise ValueError(f"dtype must be auto, fp32, fp16 or bf16, not {self.dtype!r}")
        if self.device == "cpu" and self.dtype in ("fp16", "bf16"):
            raise ValueError(f"{self.dtype} runs on a GPU only; the CPU uses fp32")

    @classmethod
    def parse(cls, text: str, device: str = "cpu", dtype: str = "auto") -> "ModelSpec":
        """A spec from what a user typed (see the module docstring)."""
        text = text.strip()
        if "," in text:
            config, checkpoint = (part.strip() for part in text.split(",", 1))
            return cls(config, checkpoint or None, device, dtype)  # type: ignore[arg-type]
        path = Path(text)
        if path.is_dir():
            if not (path / CONFIG_NAME).is_file():
                raise ModelError(f"{path}: no {CONFIG_NAME} in the model directory")
            found = [path / n for n in CHECKPOINT_NAMES if (path / n).is_file()]
            if not found:
                raise ModelError(f"{path}: no {' or '.join(CHECKPOINT_NAMES)} in the model directory")
            return cls(str(path / CONFIG_NAME), str(found[0]), device, dtype)  # type: ignore[arg-type]
        if path.exists():
            raise ModelError(f"{path}: a model is a directory or CONFIG.json,CHECKPOINT")
        if _hub_parts(text) is not None and text.count("/") == 1:
            return cls(f"{text}/{CONFIG_NAME}", f"{text}/{CHECKPOINT_NAMES[0]}",
                       device, dtype)  # type: ignore[arg-type]
        raise ModelError(f"{text}: no such model directory (nor CONFIG.json,CHECKPOINT, nor a hub repo owner/name)")

    @property
    def torch_dtype(self):
        import torch

        if self.dtype == "auto":
            return torch.float32 if self.device == "cpu" else torch.bfloat16
        return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[self.dtype]


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model ready to sample: the stable-audio-tools ConditionedDiffusionModelWrapper (`model`; the DiT is
    `model.model.model`), its config, and what identifies it (file names and SHA-256 of config and checkpoint)."""

    model: Any
    config: dict
    spec: ModelSpec
    config_sha256: str
    checkpoint_sha256: str | None
    name: str

    @property
    def sample_rate(self) -> int:
        return int(self.config["sample_rate"])

    @property
    def sample_size(self) -> int:
        return int(self.config["sample_size"])

    @property
    def audio_channels(self) -> int:
        return int(self.config.get("audio_channels", 2))

    @property
    def downsampling_ratio(self) -> int:
        pretransform = self.model.pretransform
        return int(pretransform.downsampling_ratio) if pretransform is not None else 1

    @property
    def dit(self):
        """The diffusion transformer (what LoRA adapts)."""
        return dit_of(self.model)


def _hub_parts(ref: str) -> tuple[str, str] | None:
    """(repo_id, filename) of `owner/repo/file...`, or (repo_id, "") of `owner/repo`; None if it cannot be one."""
    parts = ref.split("/")
    if len(parts) < 2 or any(not p or p in (".", "..") for p in parts) or ref.startswith(("/", "~")):
        return None
    return "/".join(parts[:2]), "/".join(parts[2:])


def resolve_file(ref: str, what: str) -> Path:
    """A local file, or one fetched from the Hugging Face hub (`owner/repo/file`); ModelError otherwise."""
    path = Path(ref).expanduser()
    if path.is_file():
        return path
    if path.exists():
        raise ModelError(f"{ref}: the {what} is not a file")
    hub = _hub_parts(ref)
    if hub is None or not hub[1]:
        raise ModelError(f"{ref}: {what} not found")
    repo_id, filename = hub
    from huggingface_hub import hf_hub_download

    try:  # a file fetched before is used as it is
        return Path(hf_hub_download(repo_id, filename=filename, repo_type="model", local_files_only=True))
    except Exception:
        pass
    fail = f"{ref}: cannot fetch the {what} from the Hugging Face hub repo {repo_id}"
    unreachable = _hub_unreachable()
    if unreachable:
        raise ModelError(f"{fail} ({unreachable})")
    hub_log = logging.getLogger("huggingface_hub")
    level = hub_log.level
    hub_log.setLevel(logging.ERROR)  # its retries log a warning each
    try:
        return Path(hf_hub_download(repo_id, filename=filename, repo_type="model"))
    except Exception as exc:  # no such repo or file, no access, cut off: all are one line for the user
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"{fail} ({reason[:160]})") from None
    finally:
        hub_log.setLevel(level)


def _hub_unreachable(timeout_s: float = 3.0) -> str:
    """Why the hub's host cannot be reached ("" when it can), so an offline machine fails at once rather than
    after huggingface_hub's retries."""
    import os
    import socket
    import urllib.parse

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return "HF_HUB_OFFLINE is set"
    url = urllib.parse.urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    host, port = url.hostname or "huggingface.co", url.port or (80 if url.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        return f"{host} unreachable: {exc.strerror or exc}"
    return ""


def _display_name(ref: str) -> str:
    """A short name for provenance: a hub repo's id, a local model directory's name, or a file's stem."""
    path = Path(ref).expanduser()
    if not path.exists() and _hub_parts(ref) is not None:
        return _hub_parts(ref)[0]
    return path.parent.name if path.stem in ("model", "model_config") and path.parent.name else path.stem


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_model_config(path: Path) -> dict:
    try:
        config = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: cannot read the model config ({getattr(exc, 'strerror', None) or exc})") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: the model config is not JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("model_type") not in ("diffusion_cond", "diffusion_cond_inpaint"):
        raise ModelError(f"{path}: not a stable-audio-tools text-to-audio config (model_type must be diffusion_cond)")
    for key in ("sample_rate", "sample_size", "model"):
        if key not in config:
            raise ModelError(f"{path}: the model config has no {key!r}")
    return config


def read_state_dict(path: Path, what: str = "checkpoint") -> dict:
    """Tensors from a safetensors file, or from a pickled checkpoint through torch.load(weights_only=True)
    (a Lightning checkpoint's `state_dict` is taken from it). ModelError names the file otherwise."""
    import torch

    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise ModelError(f"{path}: not a readable safetensors {what} ({str(exc).splitlines()[0][:120]})") from None
    if path.suffix not in PICKLE_SUFFIXES:
        raise ModelError(f"{path}: unknown {what} type (expected .safetensors, or .ckpt/.pt)")
    try:
        data = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError or others for unsafe or damaged files
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        unsafe = "weights_only" in str(exc) or "Unsupported global" in str(exc)
        reason = "it holds Python objects beyond tensors; refusing an unsafe pickle load (convert it to safetensors)" \
            if unsafe else f"cannot read it ({first[:120]})"
        raise ModelError(f"{path}: {what}: {reason}") from None
    if isinstance(data, dict) and isinstance(data.get("state_dict"), dict):
        data = data["state_dict"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise ModelError(f"{path}: the {what} holds no tensor state dict")
    return data


@contextlib.contextmanager
def quiet_output():
    """stable-audio-tools prints on import and while sampling (flash-attn notes, the seed, k-diffusion's tqdm bars,
    deprecation warnings): keep it off footfall's own output. A progress display made before keeps its stream."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def build_model(config: dict, where: str = "model config"):
    """The stable-audio-tools model a config describes, with fresh random weights."""
    with quiet_output():
        from stable_audio_tools.models.factory import create_model_from_config

        try:
            return create_model_from_config(config)
        except Exception as exc:  # the factory raises anything from KeyError to shape errors for a bad config
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelError(f"{where}: stable-audio-tools cannot build it ({type(exc).__name__}: {first[:160]})") \
                from None


def load_model(spec: ModelSpec) -> LoadedModel:
    """Build the model of `spec.config`, load `spec.checkpoint` into it (every key must fit), move it to the
    device in its dtype and put it in eval mode. ModelError (one line) for anything that does not fit."""
    import torch

    if spec.device.startswith("cuda") and not torch.cuda.is_available():
        raise ModelError(f"{spec.device}: no CUDA device available (use --device cpu)")
    config_path = resolve_file(spec.config, "model config")
    config = read_model_config(config_path)
    model = build_model(config, str(config_path))
    ckpt_sha = None
    if spec.checkpoint is not None:
        ckpt_path = resolve_file(spec.checkpoint, "checkpoint")
        state = read_state_dict(ckpt_path)
        own = model.state_dict()
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            detail = (f"{len(missing)} weights missing (first {missing[0]})" if missing else "") + \
                ("; " if missing and unexpected else "") + \
                (f"{len(unexpected)} not in the model (first {unexpected[0]})" if unexpected else "")
            raise ModelError(f"{ckpt_path}: does not fit {config_path}: {detail}")
        for key, value in state.items():
            if tuple(value.shape) != tuple(own[key].shape):
                raise ModelError(f"{ckpt_path}: does not fit {config_path.name}: {key} is {tuple(value.shape)}, "
                                 f"the model's is {tuple(own[key].shape)}")
        model.load_state_dict(state, strict=True)
        ckpt_sha = file_sha256(ckpt_path)
    name = _display_name(spec.checkpoint or spec.config)
    model = model.to(spec.device, dtype=spec.torch_dtype).eval().requires_grad_(False)
    return LoadedModel(model, config, spec, file_sha256(config_path), ckpt_sha, name)


def require_dit(config: dict, where: str) -> None:
    """A model whose diffusion network is a DiT (what footfall's LoRA adapts), or ModelError."""
    net = ((config.get("model") or {}).get("diffusion") or {}).get("type")
    if net != "dit":
        raise ModelError(f"{where}: the model has no DiT (its diffusion network is {net!r}); LoRA needs 'dit'")


def dit_of(model):
    """The DiffusionTransformer inside a stable-audio-tools diffusion_cond model (LoRA's target), or ModelError."""
    from stable_audio_tools.models.dit import DiffusionTransformer

    inner = getattr(getattr(model, "model", None), "model", None)
    if not isinstance(inner, DiffusionTransformer):
        raise ModelError(f"the model has no DiT (found {type(inner).__name__})")
    return inner


def load_dit_model(spec: ModelSpec) -> LoadedModel:
    """`load_model` for a model LoRA can adapt: its config is checked for a DiT before anything is built."""
    config_path = resolve_file(spec.config, "model config")
    require_dit(read_model_config(config_path), str(config_path))
    return load_model(spec)

