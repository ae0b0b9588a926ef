"""The denoising objective stable-audio-tools trains its `diffusion_cond` DiTs with, as plain functions.

The same as `DiffusionCondTrainingWrapper.training_step` (stable_audio_tools/training/diffusion.py), which cannot be
imported without pytorch-lightning: a timestep t per example, latents noised to `alpha * x + sigma * noise`, and the
network's output regressed (mean squared error) onto the objective's target:

- "v": alpha, sigma = cos(t pi/2), sin(t pi/2); target v = alpha * noise - sigma * x.
- "rectified_flow" / "rf_denoiser": alpha, sigma = 1 - t, t; target = noise - x.

Every random draw uses torch's global generator, which the trainer seeds and checkpoints, so a resumed run draws what
an uninterrupted one would. The "uniform" sampler is plain uniform (the wrapper's scrambled Sobol sequence is a
variance reduction whose state would have to be checkpointed too).
"""
from __future__ import annotations

import torch

OBJECTIVES = ("v", "rectified_flow", "rf_denoiser")
TIMESTEP_SAMPLERS = ("uniform", "logit_normal", "trunc_logit_normal", "log_snr")


def sample_timesteps(n: int, sampler: str, device, options: dict | None = None) -> torch.Tensor:
    """n timesteps in (0, 1) drawn the way the training wrapper's `timestep_sampler` draws them."""
    from stable_audio_tools.inference.sampling import sample_timesteps_logsnr, truncated_logistic_normal_rescaled

    options = options or {}
    if sampler == "uniform":
        return torch.rand(n).to(device)
    if sampler == "logit_normal":
        return torch.sigmoid(torch.randn(n)).to(device)
    if sampler == "trunc_logit_normal":
        return (1 - truncated_logistic_normal_rescaled(n)).to(device)
    if sampler == "log_snr":
        return sample_timesteps_logsnr(n, mean_logsnr=options.get("mean_logsnr", -1.2),
                                       std_logsnr=options.get("std_logsnr", 2.0)).to(device)
    raise ValueError(f"unknown timestep sampler {sampler!r} (known: {', '.join(TIMESTEP_SAMPLERS)})")


def alphas_sigmas(t: torch.Tensor, objective: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Signal and noise scales at timesteps t, shaped [batch, 1, 1] to broadcast over latents."""
    if objective == "v":
        alphas, sigmas = torch.cos(t * torch.pi / 2), torch.sin(t * torch.pi / 2)
    elif objective in ("rectified_flow", "rf_denoiser"):
        alphas, sigmas = 1 - t, t
    else:
        raise ValueError(f"unknown diffusion objective {objective!r} (known: {', '.join(OBJECTIVES)})")
    return alphas[:, None, None], sigmas[:, None, None]


def noised_and_target(latents: torch.Tensor, noise: torch.Tensor, t: torch.Tensor,
                      objective: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(the network's input, what it should output) for clean `latents`, `noise` of the same shape and timesteps t."""
    alphas, sigmas = alphas_sigmas(t, objective)
    noised = latents * alphas + noise * sigmas
    if objective == "v":
        return noised, noise * alphas - latents * sigmas
    return noised, noise - latents
