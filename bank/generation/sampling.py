"""One batch of clips from a loaded Stable Audio model, as 48 kHz mono: what rendering and the benchmark share.

stable-audio-tools' `generate_diffusion_cond` samples (k-diffusion, seeded per call), the autoencoder decodes;
the batch is then mixed to mono and resampled to the bank's rate on the model's device.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from footfall.bank.format import SAMPLE_RATE
from footfall.bank.generation.model import LoadedModel, quiet_output


def clip_sample_size(loaded: LoadedModel, seconds: float) -> int:
    """Samples to generate for `seconds` of audio: a whole number of latent frames, at most the model's length."""
    ratio = loaded.downsampling_ratio
    return min(loaded.sample_size, math.ceil(seconds * loaded.sample_rate / ratio) * ratio)


def generate_mono(loaded: LoadedModel, prompt: str, n: int, sample_size: int, seed: int, params,
                  negative_prompt: str = "", conditioning_tensors: dict | None = None,
                  on_step: Callable[[int], None] | None = None) -> np.ndarray:
    """(n, samples) float32 at 48 kHz. params: a RenderParams (steps, cfg_scale, sampler, sigmas).
    conditioning_tensors replaces the model's own conditioner output (the benchmark's stand-in for T5);
    on_step(i) is called after each sampler step."""
    import torch
    import torchaudio

    seconds = sample_size / loaded.sample_rate
    conditioning = [{"prompt": prompt, "seconds_start": 0, "seconds_total": seconds}] * n
    negative = [{"prompt": negative_prompt, "seconds_start": 0, "seconds_total": seconds}] * n \
        if negative_prompt else None
    callback = (lambda info: on_step(int(info["i"]))) if on_step is not None else None
    with quiet_output(), torch.inference_mode():
        from stable_audio_tools.inference.generation import generate_diffusion_cond

        out = generate_diffusion_cond(
            loaded.model, steps=params.steps, cfg_scale=params.cfg_scale,
            conditioning=None if conditioning_tensors is not None else conditioning,
            conditioning_tensors=conditioning_tensors, negative_conditioning=negative, batch_size=n,
            sample_size=sample_size, sample_rate=loaded.sample_rate, seed=seed, device=loaded.spec.device,
            sampler_type=params.sampler, sigma_min=params.sigma_min, sigma_max=params.sigma_max, callback=callback)
        mono = out.float().mean(dim=1)
        if loaded.sample_rate != SAMPLE_RATE:
            mono = torchaudio.functional.resample(mono, loaded.sample_rate, SAMPLE_RATE)
        return mono.cpu().numpy()
