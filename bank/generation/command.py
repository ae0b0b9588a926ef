"""The `footfall bank render` subcommand: its arguments, and turning them into a RenderRequest."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub) -> None:
    """Adds `render` to the `footfall bank` subcommands."""
    from footfall.engine.cli import positive_int

    p = sub.add_parser(
        "render", help="generate a bank with Stable Audio (+ LoRA adapters), cut into single steps",
        description="Generates footstep clips for one surface and footwear with a Stable Audio model through "
        "stable-audio-tools (plus LoRA adapters: peft directories, stable-audio-tools or LoRAW files), cuts them "
        "into single steps, rejects bad ones and writes a bank (bank/FORMAT.md). Renders are cached by a hash of "
        "everything that decides them. Settings: [bank_render] in config/default.toml; prompts: "
        "config/prompts.toml.")
    p.add_argument("--surface", required=True, help="ground surface, e.g. gravel (vocabulary: config/surfaces.toml)")
    p.add_argument("--footwear", required=True, help="footwear, e.g. boot")
    p.add_argument("--variations", type=positive_int, default=16, help="samples wanted (default 16)")
    p.add_argument("--model", required=True, metavar="MODEL",
                   help="a directory with model_config.json and model.safetensors (or model.ckpt), CONFIG.json,"
                   "CHECKPOINT (each a path or owner/repo/file on the Hugging Face hub), or a hub repo owner/name")
    p.add_argument("--lora", action="append", default=[], metavar="PATH[:STRENGTH]",
                   help="a LoRA adapter and its strength (default 1.0); repeat to mix several")
    p.add_argument("--device", default=None, help="cuda or cpu (default: cuda when there is one)")
    p.add_argument("--dtype", default="auto", choices=("auto", "fp32", "fp16", "bf16"),
                   help="auto: bf16 on a GPU, fp32 on the CPU")
    p.add_argument("--steps", type=positive_int, default=None, help="sampler steps per clip ([bank_render] steps)")
    p.add_argument("--batch", type=positive_int, default=None, help="clips per generation call ([bank_render] batch)")
    p.add_argument("--seconds", type=float, default=None,
                   help="seconds per generated clip ([bank_render] clip_seconds)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--prompt", default=None, help="prompt text instead of the one config/prompts.toml builds")
    p.add_argument("--config", type=Path, default=None, help="a TOML file laid over the default preset")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="BANK_DIR", help="where the bank is written")
    p.set_defaults(run=run)


def _fail(message: str) -> int:
    print(f"footfall bank: {message}", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from footfall.bank.format import BankError
    from footfall.bank.generation.lora import LoraRequest
    from footfall.bank.generation.model import ModelError, ModelSpec
    from footfall.bank.generation.prompts import load_prompts
    from footfall.bank.generation.render import RenderParams, RenderRequest, describe, expected_audio_seconds, \
        render_bank
    from footfall.engine.config import ConfigError, load, section
    from footfall.engine.progress import Progress

    try:
        params = section(load("default", args.config), "bank_render", RenderParams)
        overrides = {k: v for k, v in (("steps", args.steps), ("batch", args.batch), ("clip_seconds", args.seconds))
                     if v is not None}
        params = dataclasses.replace(params, **overrides)
        device = args.device or _default_device()
        book = load_prompts()
        request = RenderRequest(
            surface=args.surface, footwear=args.footwear, variations=args.variations,
            model=ModelSpec.parse(args.model, device, args.dtype),
            prompt=args.prompt if args.prompt is not None else book.prompt(args.surface, args.footwear),
            negative_prompt=book.negative, loras=tuple(LoraRequest.parse(t) for t in args.lora), seed=args.seed,
            params=params)
        progress = Progress(expected_audio_seconds(request))
        report = render_bank(request, args.output, progress=progress, log=lambda m: print(m, file=sys.stderr))
        progress.finish()
    except (BankError, ModelError, ConfigError, ValueError, OSError) as exc:
        return _fail(str(exc))
    print(f"{args.output}: {describe(report)}")
    return 0


def _default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
