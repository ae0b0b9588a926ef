"""The surface and footwear vocabulary, with each one's synthesis recipe, read from config/surfaces.toml.

One vocabulary serves the procedural bank (recipes), the comparison with real recordings (reference_tokens) and
anything that labels scenes (names and one-line descriptions).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from footfall.engine.config import ConfigError, params


@dataclass(frozen=True)
class SurfaceRecipe:
    """How one ground sounds under a step. Levels are linear amplitudes before loudness normalisation.

    impact: the heel/toe contact as a filtered noise burst (band impact_highpass_hz..impact_lowpass_hz, decay
    impact_ms). modes: the ground's damped resonances (frequencies, one decay, level), excited by the impact; each
    listed mode is a cluster of mode_cluster modes over +/- mode_cluster_cents, decay falls with frequency as
    (f0 / f) ** mode_damping, and ring_roughness (0..1) modulates the ring with noise of ring_roughness_hz bandwidth
    (the foot's changing contact), so the ground rings like a struck object, not like sines.
    grains: granular crunch, grain_rate tiny impulses per second spread over grain_spread_ms after each contact,
    each ringing in grain_low_hz..grain_high_hz. thud: the low body of a soft ground (low-passed at thud_hz,
    high-passed at thud_highpass_hz when that is above 0).
    splash: water slap, spray (800 Hz..splash_high_hz) and bubbles. target_rms_dbfs: active-part loudness at
    intensity 1.0.
    """

    description: str
    reference_tokens: tuple[str, ...] = ()
    impact_level: float = 1.0
    impact_highpass_hz: float = 80.0
    impact_lowpass_hz: float = 4000.0
    impact_ms: float = 4.0
    modes_hz: tuple[float, ...] = ()
    mode_decay_ms: float = 30.0
    mode_level: float = 0.0
    mode_q_spread: float = 0.3
    mode_cluster: int = 1
    mode_cluster_cents: float = 0.0
    mode_damping: float = 0.5
    ring_roughness: float = 0.0
    ring_roughness_hz: float = 60.0
    grain_level: float = 0.0
    grain_rate: float = 0.0
    grain_spread_ms: float = 60.0
    grain_low_hz: float = 1000.0
    grain_high_hz: float = 6000.0
    grain_q: float = 4.0
    thud_level: float = 0.0
    thud_hz: float = 300.0
    thud_ms: float = 15.0
    thud_highpass_hz: float = 0.0
    splash_level: float = 0.0
    splash_ms: float = 250.0
    splash_high_hz: float = 10000.0
    bubble_rate: float = 0.0
    bubble_low_hz: float = 400.0
    bubble_high_hz: float = 2500.0
    toe_level: float = 0.7
    scuff_level: float = 0.05
    scuff_low_hz: float = 800.0
    scuff_high_hz: float = 5000.0
    target_rms_dbfs: float = -20.0
    tail_ms: float = 250.0


@dataclass(frozen=True)
class FootwearRecipe:
    """How a shoe strikes. hardness 0..1 opens the impact's filter and sharpens its attack; mass adds low body;
    toe_delay_ms is the heel-to-ball time of an ordinary walk; heel_level/toe_level weight the two contacts."""

    description: str
    hardness: float = 0.5
    mass: float = 0.5
    heel_level: float = 1.0
    toe_level: float = 0.7
    toe_delay_ms: float = 100.0
    scuff: float = 1.0
    attack_ms: float = 0.5


@dataclass(frozen=True)
class Vocabulary:
    surfaces: dict[str, SurfaceRecipe] = field(default_factory=dict)
    footwears: dict[str, FootwearRecipe] = field(default_factory=dict)


def parse_vocabulary(table: dict[str, Any], where: str = "surfaces.toml") -> Vocabulary:
    surfaces = table.get("surface")
    footwears = table.get("footwear")
    if not isinstance(surfaces, dict) or not surfaces:
        raise ConfigError(f"{where}: needs at least one [surface.<name>] table")
    if not isinstance(footwears, dict) or not footwears:
        raise ConfigError(f"{where}: needs at least one [footwear.<name>] table")
    return Vocabulary(
        surfaces={k: params(SurfaceRecipe, v, f"{where} [surface.{k}]") for k, v in surfaces.items()},
        footwears={k: params(FootwearRecipe, v, f"{where} [footwear.{k}]") for k, v in footwears.items()},
    )


def load_vocabulary() -> Vocabulary:
    """The shipped vocabulary (config/surfaces.toml)."""
    text = resources.files("footfall.config").joinpath("surfaces.toml").read_text()
    return parse_vocabulary(tomllib.loads(text))
