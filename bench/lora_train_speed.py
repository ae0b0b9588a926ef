"""Speed of `footfall bank train-lora` steps on the full Stable Audio Open architecture.

    .venv/bin/python bench/lora_train_speed.py [--device cuda] [--batch 8] [--clip-seconds 10] [--steps 10]

Speed does not depend on the weights, so the model is Stable Audio Open's architecture (the DiT and the Oobleck VAE
of stable-audio-tools' stable_audio_2_0.json, 1057 M DiT weights, 47.55 s sample_size) with random weights; its T5
prompt conditioner, which would download t5-base, is replaced by stable-audio-tools' `list` conditioner of the same
width. The training clips are the procedural bank's wood/sneaker and tile/hard_sole walks. Prints seconds per step
(after one warm-up step), clips per second and, on CUDA, peak memory.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
import warnings
from pathlib import Path

SURFACES = (("wood", "sneaker"), ("tile", "hard_sole"))


def open_architecture(captions: list[str]) -> dict:
    oobleck = {"channels": 128, "c_mults": [1, 2, 4, 8, 16], "strides": [2, 4, 4, 8, 8], "use_snake": True}
    number = {"min_val": 0, "max_val": 512}
    return {
        "model_type": "diffusion_cond", "sample_size": 2097152, "sample_rate": 44100, "audio_channels": 2,
        "model": {
            "pretransform": {"type": "autoencoder", "iterate_batch": True, "config": {
                "encoder": {"type": "oobleck", "config": {**oobleck, "in_channels": 2, "latent_dim": 128}},
                "decoder": {"type": "oobleck", "config": {**oobleck, "out_channels": 2, "latent_dim": 64,
                                                          "final_tanh": False}},
                "bottleneck": {"type": "vae"}, "latent_dim": 64, "downsampling_ratio": 2048, "io_channels": 2}},
            "conditioning": {"cond_dim": 768, "configs": [
                {"id": "prompt", "type": "list", "config": {"options": captions}},
                {"id": "seconds_start", "type": "number", "config": number},
                {"id": "seconds_total", "type": "number", "config": number}]},
            "diffusion": {
                "cross_attention_cond_ids": ["prompt", "seconds_start", "seconds_total"],
                "global_cond_ids": ["seconds_start", "seconds_total"], "type": "dit",
                "config": {"io_channels": 64, "embed_dim": 1536, "depth": 24, "num_heads": 24,
                           "cond_token_dim": 768, "global_cond_dim": 1536, "project_cond_tokens": False,
                           "transformer_type": "continuous_transformer"}},
            "io_channels": 64,
        },
    }


def write_training_folder(root: Path) -> Path:
    """The procedural bank's walks for two surfaces, as a `<surface>/<footwear>/*.wav` training folder."""
    from footfall.bank.format import write_wav
    from footfall.bank.procedural import ProceduralParams, build_procedural_bank

    for surface, footwear in SURFACES:
        bank = build_procedural_bank(ProceduralParams(surfaces=(surface,), footwears=(footwear,), variations=8,
                                                      intensities=(1.0,), run_variations=0))
        folder = root / surface / footwear
        folder.mkdir(parents=True, exist_ok=True)
        for i, entry in enumerate(bank.entries):
            write_wav(folder / f"{entry.id}.wav", bank.clip(i), bank.sample_rate)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--clip-seconds", type=float, default=10.0, help="training window (0: the full 47.55 s)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps, after one warm-up step")
    parser.add_argument("--rank", type=int, default=16)
    args = parser.parse_args()

    import torch
    from stable_audio_tools.models.factory import create_model_from_config

    from footfall.bank.generation.dataset import caption, load_training_clips
    from footfall.bank.generation.lora_train import LoraTrainer, LoraTrainParams, resolve_device, window_samples

    device = resolve_device(args.device)
    params = LoraTrainParams(rank=args.rank, alpha=float(args.rank), batch=args.batch,
                             clip_seconds=args.clip_seconds, device=device)
    config = open_architecture([caption(s, f) for s, f in SURFACES])
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model = create_model_from_config(config)
    model.float().eval().requires_grad_(False)
    built = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        data = write_training_folder(Path(tmp))
        clips = load_training_clips(data, 44100, window_samples(config, model, args.clip_seconds), params.data)
    trainer = LoraTrainer(model, config, clips, params, device)
    adapter = sum(p.numel() for p in trainer.trainable)
    dit = sum(p.numel() for p in model.model.parameters() if not p.requires_grad)
    trainer.step()

    def sync() -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    sync()
    start = time.perf_counter()
    for _ in range(args.steps):
        trainer.step()
    sync()
    per_step = (time.perf_counter() - start) / args.steps
    memory = (f", peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB"
              if device.startswith("cuda") else "")
    precision = "bf16 autocast" if trainer.autocast_bf16 else "fp32"
    print(f"device {device} ({precision}), model built in {built:.1f} s, DiT {dit / 1e6:.0f} M frozen weights, "
          f"rank {args.rank}: {adapter / 1e6:.1f} M adapter weights, {len(clips)} clips, window "
          f"{trainer.window / 44100:.2f} s, batch {args.batch}: {per_step:.3f} s/step, "
          f"{args.batch / per_step:.2f} clips/s{memory}")


if __name__ == "__main__":
    main()
