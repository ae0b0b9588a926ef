"""Model configs footfall builds itself: Stable Audio Open 1.0's architecture, and a tiny one for smoke runs.

`stable_audio_open_1_0` reproduces the published model_config.json of stabilityai/stable-audio-open-1.0 (the same
config stable-audio-tools' LoRAW example ships): Oobleck VAE (2048x downsampling, 64 latent channels), a 24-layer
1536-wide DiT with 24 heads, T5-base prompt conditioning and seconds_start/seconds_total number conditioners. With
`prompt_conditioner="list"` the T5 encoder (whose weights only the hub has) is replaced by a learned embedding of
the given prompts with the same 768-wide output: the DiT and the autoencoder, which take nearly all of the time,
are unchanged. `tiny` is the same kind of model a few thousand times smaller, for tests and CPU smoke runs.
"""
from __future__ import annotations

from typing import Literal


def _conditioning(prompt_conditioner: str, prompts: tuple[str, ...], cond_dim: int) -> dict:
    if prompt_conditioner == "t5":
        prompt = {"id": "prompt", "type": "t5", "config": {"t5_model_name": "t5-base", "max_length": 128}}
    elif prompt_conditioner == "list":
        prompt = {"id": "prompt", "type": "list", "config": {"options": list(prompts)}}
    else:
        raise ValueError(f"prompt_conditioner must be t5 or list, not {prompt_conditioner!r}")
    seconds = {"min_val": 0, "max_val": 512}
    return {
        "configs": [
            prompt,
            {"id": "seconds_start", "type": "number", "config": dict(seconds)},
            {"id": "seconds_total", "type": "number", "config": dict(seconds)},
        ],
        "cond_dim": cond_dim,
    }


def _oobleck_vae(channels: int, c_mults: list[int], strides: list[int], latent_dim: int, audio_channels: int) -> dict:
    ratio = 1
    for s in strides:
        ratio *= s
    return {
        "type": "autoencoder",
        "iterate_batch": True,
        "config": {
            "encoder": {"type": "oobleck", "requires_grad": False, "config": {
                "in_channels": audio_channels, "channels": channels, "c_mults": c_mults, "strides": strides,
                "latent_dim": 2 * latent_dim, "use_snake": True}},
            "decoder": {"type": "oobleck", "config": {
                "out_channels": audio_channels, "channels": channels, "c_mults": c_mults, "strides": strides,
                "latent_dim": latent_dim, "use_snake": True, "final_tanh": False}},
            "bottleneck": {"type": "vae"},
            "latent_dim": latent_dim,
            "downsampling_ratio": ratio,
            "io_channels": audio_channels,
        },
    }


def _diffusion_cond(sample_rate: int, sample_size: int, audio_channels: int, pretransform: dict,
                    conditioning: dict, embed_dim: int, depth: int, num_heads: int, latent_dim: int,
                    objective: str = "v") -> dict:
    cond_dim = conditioning["cond_dim"]
    return {
        "model_type": "diffusion_cond",
        "sample_size": sample_size,
        "sample_rate": sample_rate,
        "audio_channels": audio_channels,
        "model": {
            "pretransform": pretransform,
            "conditioning": conditioning,
            "diffusion": {
                "cross_attention_cond_ids": ["prompt", "seconds_start", "seconds_total"],
                "global_cond_ids": ["seconds_start", "seconds_total"],
                "type": "dit",
                "diffusion_objective": objective,
                "config": {
                    "io_channels": latent_dim, "embed_dim": embed_dim, "depth": depth, "num_heads": num_heads,
                    "cond_token_dim": cond_dim, "global_cond_dim": 2 * cond_dim, "project_cond_tokens": False,
                    "transformer_type": "continuous_transformer",
                },
            },
            "io_channels": latent_dim,
        },
    }


def stable_audio_open_1_0(prompt_conditioner: Literal["t5", "list"] = "t5", prompts: tuple[str, ...] = ()) -> dict:
    """Stable Audio Open 1.0 (44.1 kHz stereo, up to 47.55 s)."""
    return _diffusion_cond(
        sample_rate=44100, sample_size=2097152, audio_channels=2,
        pretransform=_oobleck_vae(128, [1, 2, 4, 8, 16], [2, 4, 4, 8, 8], 64, 2),
        conditioning=_conditioning(prompt_conditioner, prompts, 768),
        embed_dim=1536, depth=24, num_heads=24, latent_dim=64,
    )


def tiny(prompts: tuple[str, ...], sample_rate: int = 44100, seconds: float = 1.0, objective: str = "v") -> dict:
    """A model of the same kind with a 2-layer 64-wide DiT (one 64-dim head: stable-audio-tools' attention needs
    at least 64) and an 8-channel Oobleck VAE with 32x downsampling, mono; prompts through a list conditioner;
    `objective` "v" (Stable Audio Open's) or "rectified_flow"."""
    ratio = 32
    return _diffusion_cond(
        sample_rate=sample_rate, sample_size=int(round(seconds * sample_rate)) // ratio * ratio, audio_channels=1,
        pretransform=_oobleck_vae(8, [1, 2], [4, 8], 8, 1),
        conditioning=_conditioning("list", prompts, 64),
        embed_dim=64, depth=2, num_heads=1, latent_dim=8, objective=objective,
    )
