"""Text prompts for generated footsteps, from the surface and footwear vocabulary (config/prompts.toml)."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from footfall.bank.vocabulary import Vocabulary, load_vocabulary
from footfall.engine.config import ConfigError


@dataclass(frozen=True)
class PromptBook:
    """template with {surface} and {footwear}; texts per name; negative: the guidance's negative prompt."""

    template: str
    negative: str = ""
    surfaces: dict[str, str] = field(default_factory=dict)
    footwears: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self.template.format(surface="s", footwear="f")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"prompt template {self.template!r} may name only {{surface}} and {{footwear}} ({exc})") \
                from None

    def prompt(self, surface: str, footwear: str) -> str:
        """The prompt for one surface and footwear; names outside the book are used as words."""
        return self.template.format(surface=self.surfaces.get(surface, surface.replace("_", " ")),
                                    footwear=self.footwears.get(footwear, footwear.replace("_", " ")))


def parse_prompts(table: dict[str, Any], vocabulary: Vocabulary, where: str = "prompts.toml") -> PromptBook:
    known = {"template", "negative", "surface", "footwear"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    if not isinstance(table.get("template"), str) or not isinstance(table.get("negative", ""), str):
        raise ConfigError(f"{where}: template (and negative) must be strings")
    texts = {}
    for kind, names in (("surface", vocabulary.surfaces), ("footwear", vocabulary.footwears)):
        entries = table.get(kind, {})
        if not isinstance(entries, dict) or not all(isinstance(v, str) for v in entries.values()):
            raise ConfigError(f"{where}: [{kind}] maps names to prompt text")
        strangers = sorted(set(entries) - set(names))
        if strangers:
            raise ConfigError(f"{where}: [{kind}] {strangers[0]!r} is not in the vocabulary (surfaces.toml)")
        texts[kind] = dict(entries)
    try:
        return PromptBook(table["template"], table.get("negative", ""), texts["surface"], texts["footwear"])
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def load_prompts() -> PromptBook:
    """The shipped prompt book (config/prompts.toml), checked against the shipped vocabulary."""
    text = resources.files("footfall.config").joinpath("prompts.toml").read_text()
    return parse_prompts(tomllib.loads(text), load_vocabulary())
