"""A tiny stable-audio-tools `diffusion_cond` model for the LoRA-training tests: builds on CPU in well under a second.

It has the structure of Stable Audio Open (an Oobleck VAE as pretransform, a DiT with cross-attention on a prompt and
on seconds_start / seconds_total, which also form its global condition), scaled down: 16 kHz mono, 0.5 s windows,
8 latent channels at 1/16 of the audio rate, a 2-layer DiT of width 64 (one 64-wide head: stable-audio-tools needs
a head dimension of at least 64).

The prompt conditioner is stable-audio-tools' `list` conditioner (one learned embedding per known caption): it needs
no download, unlike `t5` (t5-base from the hub) or `clap_text` (a CLAP checkpoint) and `lut` (a hub tokenizer). The
training code never sees the difference: it hands every conditioner the same metadata dictionaries
(prompt, seconds_start, seconds_total) that Stable Audio Open's T5 and number conditioners take.
"""
from __future__ import annotations

import json
from pathlib import Path

SAMPLE_RATE = 16000
SAMPLE_SIZE = 8192


def tiny_model_config(captions: list[str], objective: str = "v") -> dict:
    """The model config JSON (stable-audio-tools layout) of the tiny model; `captions` are the prompt options."""
    cond_dim = 32
    return {
        "model_type": "diffusion_cond",
        "sample_size": SAMPLE_SIZE,
        "sample_rate": SAMPLE_RATE,
        "audio_channels": 1,
        "model": {
            "pretransform": {
                "type": "autoencoder",
                "iterate_batch": False,
                "config": {
                    "encoder": {"type": "oobleck", "config": {
                        "in_channels": 1, "channels": 8, "c_mults": [1, 2], "strides": [4, 4], "latent_dim": 16}},
                    "decoder": {"type": "oobleck", "config": {
                        "out_channels": 1, "channels": 8, "c_mults": [1, 2], "strides": [4, 4], "latent_dim": 8,
                        "use_nearest_upsample": False, "final_tanh": False}},
                    "bottleneck": {"type": "vae"},
                    "latent_dim": 8,
                    "downsampling_ratio": 16,
                    "io_channels": 1,
                },
            },
            "conditioning": {
                "configs": [
                    {"id": "prompt", "type": "list", "config": {"options": list(captions)}},
                    {"id": "seconds_start", "type": "number", "config": {"min_val": 0, "max_val": 8}},
                    {"id": "seconds_total", "type": "number", "config": {"min_val": 0, "max_val": 8}},
                ],
                "cond_dim": cond_dim,
            },
            "diffusion": {
                "cross_attention_cond_ids": ["prompt", "seconds_start", "seconds_total"],
                "global_cond_ids": ["seconds_start", "seconds_total"],
                "type": "dit",
                "diffusion_objective": objective,
                "config": {
                    "io_channels": 8,
                    "embed_dim": 64,
                    "depth": 2,
                    "num_heads": 1,
                    "cond_token_dim": cond_dim,
                    "global_cond_dim": 2 * cond_dim,
                    "project_cond_tokens": True,
                    "transformer_type": "continuous_transformer",
                },
            },
            "io_channels": 8,
        },
        "training": {"cfg_dropout_prob": 0.1, "timestep_sampler": "uniform"},
    }


def save_tiny_model(directory: Path, captions: list[str], seed: int = 0, objective: str = "v") -> Path:
    """Builds the tiny model with random weights (seeded), saves model_config.json + model.safetensors, returns the
    directory. The DiT's zero-initialised output projections are given small random weights, as training would
    have, so that a LoRA on them changes the output from the first step."""
    import torch
    from safetensors.torch import save_file
    from stable_audio_tools.models.factory import create_model_from_config

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = tiny_model_config(captions, objective)
    torch.manual_seed(seed)
    model = create_model_from_config(config)
    with torch.no_grad():
        for name, tensor in model.named_parameters():
            if tensor.ndim >= 2 and float(tensor.abs().max()) == 0.0:
                tensor.normal_(0.0, 0.02)
    (directory / "model_config.json").write_text(json.dumps(config, indent=1))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(directory / "model.safetensors"))
    return directory


def footstep_take(sample_rate: int, steps: int, brightness: float, seed: int, interval_s: float = 0.45) -> "np.ndarray":
    """A synthetic walk: `steps` footstep-like clicks (a heel and a softer toe burst of decaying noise, low-passed
    by a one-pole filter whose coefficient `brightness` in (0, 1) sets the colour), `interval_s` apart, over a
    -70 dBFS noise floor."""
    import numpy as np

    rng = np.random.default_rng(seed)
    n = int((0.2 + steps * interval_s + 0.3) * sample_rate)
    audio = rng.normal(0.0, 10 ** (-70 / 20), n)
    for k in range(steps):
        for delay, level in ((0.0, 1.0), (0.08, 0.5)):
            start = int((0.2 + k * interval_s + delay) * sample_rate)
            length = int(0.06 * sample_rate)
            burst = rng.normal(0.0, 0.3 * level, length) * np.exp(-np.arange(length) / (0.012 * sample_rate))
            smoothed = np.empty_like(burst)
            state = 0.0
            for i, x in enumerate(burst):
                state = brightness * x + (1 - brightness) * state
                smoothed[i] = state
            audio[start:start + length] += smoothed / max(brightness, 1e-3) ** 0.5
    return audio.astype(np.float32)


def write_footstep_folder(root: Path, sample_rate: int = 44100, takes: int = 1, steps: int = 3) -> Path:
    """A training folder `<surface>/<footwear>/take-N.wav` of synthetic walks: wood/sneaker (dull) and
    tile/hard_sole (bright)."""
    from footfall.bank.format import write_wav

    root = Path(root)
    for surface, footwear, brightness in (("wood", "sneaker", 0.15), ("tile", "hard_sole", 0.9)):
        folder = root / surface / footwear
        folder.mkdir(parents=True, exist_ok=True)
        for take in range(takes):
            audio = footstep_take(sample_rate, steps, brightness, seed=hash((surface, take)) % 1000)
            write_wav(folder / f"take-{take}.wav", audio, sample_rate)
    return root


CAPTIONS = ["hard sole footsteps on tile", "sneaker footsteps on wood"]
