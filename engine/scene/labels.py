"""Zero-shot surface and footwear labels: a picture's CLIP embedding against each label's prompt embeddings.

The prompt lists live in `config/scenes.toml`; each label's text embedding is the normalised mean of its prompts'
(prompt ensembling), and a picture's label is the softmax over labels of the scaled cosine similarities, so the
confidence is a probability among the labels offered.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from footfall.engine.config import ConfigError


@dataclass(frozen=True)
class Prompts:
    """Phrases per label for surfaces and footwear, and the template they are put in."""

    surface: dict[str, tuple[str, ...]]
    footwear: dict[str, tuple[str, ...]]
    template: str = "a photo of {}"

    def texts(self, phrases: tuple[str, ...]) -> list[str]:
        return [self.template.replace("{}", p) for p in phrases]


def parse_prompts(table: dict, where: str) -> Prompts:
    def labels(kind: str) -> dict[str, tuple[str, ...]]:
        t = table.get(kind)
        if not isinstance(t, dict) or not t:
            raise ConfigError(f"{where}: needs a [{kind}] table of label = [\"phrase\", ...]")
        out = {}
        for name, phrases in t.items():
            if not isinstance(phrases, list) or not phrases or not all(isinstance(p, str) and p for p in phrases):
                raise ConfigError(f"{where} [{kind}] {name}: expected a list of phrases")
            out[name] = tuple(phrases)
        return out

    template = table.get("template", "a photo of {}")
    if not isinstance(template, str) or "{}" not in template:
        raise ConfigError(f"{where}: template must be a string holding {{}}")
    unknown = sorted(set(table) - {"surface", "footwear", "template"})
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
    return Prompts(labels("surface"), labels("footwear"), template)


def load_prompts(path: str | Path | None = None) -> Prompts:
    """The shipped prompts (config/scenes.toml), or those of `path`."""
    if path:
        try:
            return parse_prompts(tomllib.loads(Path(path).read_text()), str(path))
        except FileNotFoundError:
            raise ConfigError(f"{path}: prompts file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    text = resources.files("footfall.config").joinpath("scenes.toml").read_text()
    return parse_prompts(tomllib.loads(text), "config/scenes.toml")


class LabelSet:
    """One kind of label (surfaces, or footwear): names and their unit text embeddings (n, dim)."""

    def __init__(self, names: list[str], embeddings: np.ndarray, logit_scale: float) -> None:
        if embeddings.shape[0] != len(names) or not names:
            raise ValueError("one embedding per label, at least one label")
        self.names = names
        self.embeddings = np.ascontiguousarray(embeddings, np.float32)
        self.logit_scale = float(logit_scale)

    @classmethod
    def from_prompts(cls, labels: dict[str, tuple[str, ...]], prompts: Prompts, embed_texts,
                     logit_scale: float) -> "LabelSet":
        """`embed_texts(list[str]) -> (n, dim)` unit vectors (ClipEmbedder.embed_texts)."""
        names = list(labels)
        rows = []
        for name in names:
            e = embed_texts(prompts.texts(labels[name])).mean(axis=0)
            rows.append(e / max(float(np.linalg.norm(e)), 1e-12))
        return cls(names, np.stack(rows), logit_scale)

    def classify(self, embedding: np.ndarray) -> tuple[str, float]:
        """The most likely label for a unit image embedding, and its probability among these labels."""
        logits = self.logit_scale * (self.embeddings @ embedding.astype(np.float32))
        p = np.exp(logits - logits.max())
        p /= p.sum()
        i = int(p.argmax())
        return self.names[i], float(p[i])
