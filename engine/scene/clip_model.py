"""Loads an open_clip model from a local folder, a checkpoint file or a hub name, and embeds pictures and prompts.

What a user may give (`[scene] clip_model`, `--clip-model`):
- a folder in open_clip's hub layout: `open_clip_config.json` (`model_cfg`, `preprocess_cfg`) and its weights
  (`open_clip_model.safetensors`; other weights files are read with torch's `weights_only=True`, never unpickled);
- a `.safetensors` checkpoint with `open_clip_config.json` beside it, or `ARCH:FILE.safetensors` for one of
  open_clip's built-in architectures (`ViT-B-32:/models/clip.safetensors`);
- a hub name: `hf-hub:ORG/REPO`, or `ARCH:TAG` for open_clip's pretrained tags (`ViT-B-32:laion2b_s34b_b79k`).
Anything that cannot be had (no such file, no network for a hub name, a config that does not fit its weights) is one
`ClipUnavailable` line naming the model and the reason, never a traceback.
"""
from __future__ import annotations

import contextlib
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CONFIG_NAME = "open_clip_config.json"


class ClipUnavailable(RuntimeError):
    """The CLIP model cannot be loaded; the message is one line naming it and why."""


@dataclass(frozen=True)
class ClipSpec:
    """A parsed model reference: `kind` is "dir", "file", "hub" or "pretrained"."""

    kind: str
    name: str
    arch: str = ""


def parse_spec(spec: str) -> ClipSpec:
    text = str(spec).strip()
    if not text:
        raise ClipUnavailable("no CLIP model given")
    if text.startswith("hf-hub:"):
        return ClipSpec("hub", text)
    path = Path(text)
    if path.is_dir():
        return ClipSpec("dir", str(path))
    if path.suffix == ".safetensors" or path.exists():
        return ClipSpec("file", str(path))
    arch, sep, rest = text.partition(":")
    if sep and rest:
        if rest.endswith(".safetensors") or Path(rest).exists():
            return ClipSpec("file", rest, arch)
        return ClipSpec("pretrained", rest, arch)
    raise ClipUnavailable(f"CLIP model {text!r}: no such folder or file (give a folder, a .safetensors file, "
                          f"hf-hub:ORG/REPO or ARCH:TAG)")


class ClipEmbedder:
    """An open_clip model in eval mode on the CPU (or `device`): unit-length embeddings of RGB pictures and texts.

    Not thread-safe; the scene worker owns one."""

    def __init__(self, model, preprocess, tokenizer, name: str, device: str = "cpu") -> None:
        self.model, self.preprocess, self.tokenizer, self.name, self.device = model, preprocess, tokenizer, name, device
        scale = getattr(model, "logit_scale", None)
        self.logit_scale = float(min(scale.exp().item(), 100.0)) if scale is not None else 100.0

    def embed_images(self, images: list[np.ndarray]) -> np.ndarray:
        """float32 (n, dim) unit vectors of RGB uint8 (H, W, 3) pictures."""
        import torch
        from PIL import Image

        batch = torch.stack([self.preprocess(Image.fromarray(np.ascontiguousarray(im[..., :3]))) for im in images])
        with torch.inference_mode():
            feats = self.model.encode_image(batch.to(self.device))
        return _unit(feats.float().cpu().numpy())

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """float32 (n, dim) unit vectors of prompts."""
        import torch

        with torch.inference_mode():
            feats = self.model.encode_text(self.tokenizer(texts).to(self.device))
        return _unit(feats.float().cpu().numpy())


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def load_clip(spec: str, device: str = "cpu", threads: int = 0) -> ClipEmbedder:
    """The model `spec` names (see the module's docstring), ready to embed; ClipUnavailable when it cannot be had.
    `threads` > 0 sets torch's intra-op threads (the pose workers want the cores)."""
    s = parse_spec(spec)
    try:
        import open_clip
        import torch
    except ImportError as exc:  # pragma: no cover - installed with the project
        raise ClipUnavailable(f"CLIP model {spec!r}: open_clip is not installed ({exc})") from None
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        with _quiet():
            if s.kind == "dir":
                model, preprocess = _from_folder(open_clip, Path(s.name), device)
                tokenizer = open_clip.get_tokenizer(f"local-dir:{s.name}")
            elif s.kind == "file":
                model, preprocess, tokenizer = _from_file(open_clip, s, device)
            elif s.kind == "hub":
                model, preprocess = open_clip.create_model_from_pretrained(s.name, device=device, weights_only=True)
                tokenizer = open_clip.get_tokenizer(s.name)
            else:
                model, preprocess = open_clip.create_model_from_pretrained(s.arch, pretrained=s.name, device=device,
                                                                           weights_only=True)
                tokenizer = open_clip.get_tokenizer(s.arch)
    except ClipUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001 - open_clip and the hub raise many kinds; each becomes one line
        raise ClipUnavailable(f"CLIP model {spec!r}: {_one_line(exc)}") from None
    model.eval()
    return ClipEmbedder(model, preprocess, tokenizer, str(spec), device)


def _from_folder(open_clip, folder: Path, device: str):
    if not (folder / CONFIG_NAME).is_file():
        raise ClipUnavailable(f"CLIP model {str(folder)!r}: no {CONFIG_NAME} in the folder")
    return open_clip.create_model_from_pretrained(f"local-dir:{folder}", device=device, weights_only=True)


def _from_file(open_clip, s: ClipSpec, device: str):
    """A safetensors checkpoint with a config beside it, or a built-in architecture's name before it."""
    path = Path(s.name)
    if not path.is_file():
        raise ClipUnavailable(f"CLIP model {s.name!r}: no such file")
    if path.suffix != ".safetensors":
        raise ClipUnavailable(f"CLIP model {s.name!r}: give weights as .safetensors (pickled checkpoints are not "
                              f"loaded)")
    from safetensors.torch import load_file

    if s.arch:
        model, _, preprocess = open_clip.create_model_and_transforms(s.arch, pretrained=None, device=device)
        tokenizer = open_clip.get_tokenizer(s.arch)
    else:
        config = path.with_name(CONFIG_NAME)
        if not config.is_file():
            raise ClipUnavailable(f"CLIP model {s.name!r}: no {CONFIG_NAME} beside it (or write ARCH:{s.name})")
        doc = json.loads(config.read_text())
        if "model_cfg" not in doc:
            raise ClipUnavailable(f"CLIP model {s.name!r}: {config} has no model_cfg")
        from open_clip.transform import PreprocessCfg, image_transform_v2

        model = open_clip.CLIP(**doc["model_cfg"]).to(device)
        known = {k: v for k, v in doc.get("preprocess_cfg", {}).items() if k in PreprocessCfg.__dataclass_fields__}
        preprocess = image_transform_v2(PreprocessCfg(**{**known, "size": model.visual.image_size}), is_train=False)
        tokenizer = open_clip.get_tokenizer(context_length=doc["model_cfg"].get("text_cfg", {})
                                            .get("context_length", 77))
    missing, unexpected = model.load_state_dict(load_file(str(path), device=device), strict=False)
    if missing or unexpected:
        what = f"missing {', '.join(missing[:3])}" if missing else f"unexpected {', '.join(unexpected[:3])}"
        raise ClipUnavailable(f"CLIP model {s.name!r}: its weights do not fit the model ({what})")
    return model, preprocess, tokenizer


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    lowered = text.lower()
    if any(w in lowered for w in ("connection", "resolve", "offline", "network", "max retries", "timed out")):
        return "cannot reach the model hub (offline?)"
    return text[:300]


@contextlib.contextmanager
def _quiet():
    """open_clip logs and warns while it builds; the engine prints its own one line instead."""
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)
