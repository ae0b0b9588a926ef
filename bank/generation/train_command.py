"""`footfall bank train-lora`: LoRA adapters for a Stable Audio DiT, from a folder of footstep recordings."""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from footfall.engine.cli import non_negative_int, positive_int

EXIT_OK, EXIT_FAILED = 0, 1


def register(sub) -> None:
    p = sub.add_parser(
        "train-lora", help="fine-tune LoRA adapters on a Stable Audio model from recordings (<surface>/<footwear>/)",
        description="Fine-tunes LoRA adapters on the DiT of a Stable Audio (stable-audio-tools diffusion_cond) model "
        "from a folder of footstep recordings laid out <surface>/<footwear>/*.wav, cut at silences, "
        "loudness-normalised and captioned from the folder names. Writes ADAPTER_DIR/adapter_config.json and "
        "adapter_model.safetensors (peft's format), checkpoints, validation renders and training.json. "
        "Defaults: [lora_train] in config/default.toml.")
    p.add_argument("--data", type=Path, required=True, metavar="DIR", help="recordings, <surface>/<footwear>/*.wav")
    p.add_argument("--model", required=True, metavar="MODEL",
                   help="the model, as for `bank render`: a directory with model_config.json and model.safetensors, "
                   "CONFIG.json,CHECKPOINT, or a hub repo owner/name")
    p.add_argument("-o", "--out", type=Path, required=True, metavar="ADAPTER_DIR", help="where the adapter goes")
    p.add_argument("--rank", type=positive_int, help="LoRA rank")
    p.add_argument("--alpha", type=float, help="LoRA alpha (the update is scaled by alpha / rank)")
    p.add_argument("--lr", type=float, help="learning rate (AdamW)")
    p.add_argument("--steps", type=positive_int, help="total optimiser steps (a resumed run continues up to this)")
    p.add_argument("--batch", type=positive_int, help="clips per step")
    p.add_argument("--checkpoint-every", type=non_negative_int, metavar="N",
                   help="checkpoint every N steps and at the end (0: none)")
    p.add_argument("--validate-every", type=non_negative_int, metavar="N",
                   help="every N steps: validation loss and one rendered clip per caption (0: never)")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in ADAPTER_DIR")
    p.add_argument("--device", help="cuda, cuda:N or cpu (default: cuda when there is one)")
    p.add_argument("--seed", type=int, help="seed of every random draw (runs on the CPU repeat bit for bit)")
    p.add_argument("--config", type=Path, help="TOML file laid over the default preset ([lora_train])")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _params(args: argparse.Namespace):
    from footfall.bank.generation.lora_train import LoraTrainParams
    from footfall.engine import config

    base = config.section(config.load("default", args.config), "lora_train", LoraTrainParams)
    flags = {"rank": args.rank, "alpha": args.alpha, "lr": args.lr, "steps": args.steps, "batch": args.batch,
             "checkpoint_every": args.checkpoint_every, "validate_every": args.validate_every,
             "device": args.device, "seed": args.seed}
    return dataclasses.replace(base, **{k: v for k, v in flags.items() if v is not None})


def run(args: argparse.Namespace) -> int:
    from footfall.bank.format import BankError
    from footfall.bank.generation.lora_train import train_lora
    from footfall.engine.progress import CountProgress

    try:
        params = _params(args)
        progress = CountProgress(params.steps, "steps", enabled=False if args.quiet else None)
        summary = train_lora(args.data, args.model, args.out, params, resume=args.resume, progress=progress)
    except (BankError, ValueError, OSError) as exc:
        print(f"footfall bank train-lora: {exc}", file=sys.stderr)
        return EXIT_FAILED
    validation = summary.validation_loss
    trend = (f"; validation loss {validation[0][1]:.4f} (step {validation[0][0]}) -> {validation[-1][1]:.4f} "
             f"(step {validation[-1][0]})") if len(validation) > 1 else ""
    print(f"{summary.out_dir}: adapter after {summary.steps} steps on {summary.clips} clips "
          f"({len(summary.captions)} captions) in {summary.seconds:.1f} s{trend}")
    return EXIT_OK
