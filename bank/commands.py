"""`footfall bank ...`: build the procedural bank, import recordings, describe a bank, compare with real sounds,
train LoRA adapters (`bank/generation/train_command.py`)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_FAILED = 0, 1


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bank",
        help="footstep sound banks: build, import, info, compare, render, train-lora",
        description="Footstep sound banks (see bank/FORMAT.md for the on-disk format).",
    )
    sub = parser.add_subparsers(dest="bank_command", metavar="ACTION")
    sub.required = True

    p = sub.add_parser("build", help="render the procedural bank to a directory")
    p.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--variations", type=int, default=10, help="walk variations per surface, footwear and intensity")
    p.add_argument("--run-variations", type=int, default=6,
                   help="run variations (one sharper strike) per surface, footwear and intensity; 0: none")
    p.add_argument("--surfaces", default="", help="comma-separated subset of surfaces (default: all)")
    p.add_argument("--footwears", default="", help="comma-separated subset of footwear (default: all)")
    p.set_defaults(run=_build)

    p = sub.add_parser("import", help="condition a folder of recordings (<surface>/<footwear>/*.wav) into a bank")
    p.add_argument("src_dir", type=Path, metavar="SRC_DIR")
    p.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    p.add_argument("--target-rms", type=float, default=None, help="active-part RMS in dBFS (default -20)")
    p.set_defaults(run=_import)

    p = sub.add_parser("info", help="surfaces, footwear, counts and durations of a bank")
    p.add_argument("bank", nargs="?", default=None, metavar="BANK", help="bank or recordings directory (default: the built-in bank)")
    p.set_defaults(run=_info)

    p = sub.add_parser("compare", help="compare a bank's surfaces with real recordings (spectrum, decay, loudness, "
                                       "tonality, variant spread)")
    p.add_argument("--bank", default=None, help="bank directory (default: the built-in bank)")
    p.add_argument("--reference", type=Path, required=True, metavar="DIR", help="folder of real footstep recordings")
    p.add_argument("--intensity", type=float, default=1.0, help="bank intensity layer to measure (default 1.0)")
    p.add_argument("--gait", choices=("walk", "run", "all"), default="walk",
                   help="which samples to measure: made for walking (default), for running, or all")
    p.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the figures as JSON")
    p.add_argument("--plot", type=Path, default=None, metavar="FILE.png",
                   help="also draw spectrograms of synthetic and real steps, one row per surface")
    p.set_defaults(run=_compare)

    from footfall.bank.generation.train_command import register as register_train_lora

    register_train_lora(sub)

    from footfall.bank.generation.command import register as register_render

    register_render(sub)


def _fail(message: str) -> int:
    print(f"footfall bank: {message}", file=sys.stderr)
    return EXIT_FAILED


def _names(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def _build(args: argparse.Namespace) -> int:
    from footfall.bank.format import BankError, save_bank
    from footfall.bank.procedural import ProceduralParams, build_procedural_bank

    try:
        params = ProceduralParams(
            seed=args.seed, variations=args.variations, run_variations=args.run_variations,
            surfaces=_names(args.surfaces), footwears=_names(args.footwears),
        )
        start = time.perf_counter()
        bank = build_procedural_bank(params)
        save_bank(bank, args.out_dir)
    except (BankError, ValueError, OSError) as exc:
        return _fail(str(exc))
    print(f"{args.out_dir}: {len(bank.entries)} samples in {time.perf_counter() - start:.1f} s")
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    from footfall.bank.folder import FolderParams, load_folder
    from footfall.bank.format import BankError, save_bank

    try:
        params = FolderParams() if args.target_rms is None else FolderParams(target_rms_dbfs=args.target_rms)
        bank = load_folder(args.src_dir, params)
        save_bank(bank, args.out_dir)
    except (BankError, ValueError, OSError) as exc:
        return _fail(str(exc))
    print(f"{args.out_dir}: {len(bank.entries)} samples imported from {args.src_dir}")
    return EXIT_OK


def bank_summary(bank) -> str:
    """Surfaces x footwear counts, intensities and durations, as printed by `footfall bank info`."""
    import numpy as np

    sr = bank.sample_rate
    lines = [
        f"bank: {bank.name}  samples: {len(bank.entries)}  sample rate: {sr} Hz  "
        f"total: {bank.audio.size / sr:.1f} s  memory: {bank.audio.nbytes / 1e6:.1f} MB",
        f"intensities: {', '.join(f'{i:g}' for i in sorted({e.intensity for e in bank.entries}))}",
        f"footwear: {', '.join(bank.footwears)}",
    ]
    width = max(len(f) for f in bank.footwears)
    lines.append(f"{'surface':<10} " + " ".join(f"{f:>{width}}" for f in bank.footwears) + "  mean length ms")
    for s in bank.surfaces:
        idx = [i for i, e in enumerate(bank.entries) if e.surface == s]
        counts = [sum(1 for i in idx if bank.entries[i].footwear == f) for f in bank.footwears]
        mean_ms = float(np.mean(bank.lengths[idx])) * 1e3 / sr
        lines.append(f"{s:<10} " + " ".join(f"{c:>{width}}" for c in counts) + f"  {mean_ms:>14.0f}")
    return "\n".join(lines)


def _info(args: argparse.Namespace) -> int:
    from footfall.bank.format import BankError
    from footfall.bank.open import open_bank

    try:
        bank = open_bank(args.bank)
    except (BankError, ValueError, OSError) as exc:
        return _fail(str(exc))
    print(bank_summary(bank))
    return EXIT_OK


def _compare(args: argparse.Namespace) -> int:
    from footfall.bank.compare import (compare_with_references, depth_centroids, format_table, measured_entries,
                                       reference_files)
    from footfall.bank.format import BankError
    from footfall.bank.open import open_bank

    if not args.reference.is_dir():
        return _fail(f"{args.reference}: reference folder not found")
    gait = None if args.gait == "all" else args.gait
    try:
        bank = open_bank(args.bank)
        rows = compare_with_references(bank, args.reference, intensity=args.intensity, gait=gait)
    except (BankError, ValueError, OSError) as exc:
        return _fail(str(exc))
    print(format_table(rows))
    surface = "concrete" if "concrete" in bank.surfaces else bank.surfaces[0]
    footwear = "sneaker" if "sneaker" in bank.footwears else bank.footwears[0]
    centroids = depth_centroids(bank, surface, footwear)
    print(f"placement: centroid of a {surface} walk ({footwear}) at depth "
          + " / ".join(f"{d:g}" for d in centroids) + ": " + " / ".join(f"{c:.0f}" for c in centroids.values())
          + f" Hz ({100 * (1 - centroids[4.0] / centroids[1.0]):.0f}% lower at depth 4)")
    if args.json is not None:
        try:
            args.json.write_text(json.dumps(rows, indent=1) + "\n")
        except OSError as exc:
            return _fail(f"{args.json}: cannot write ({exc.strerror or exc})")
    if args.plot is not None:
        from footfall.bank.spectrogram_plot import plot_surfaces

        real, _ = reference_files(bank, args.reference)
        panels = []
        for surface in bank.surfaces:
            idx = measured_entries(bank, surface, args.intensity, gait)
            first = bank.entries[idx[0]].footwear  # consecutive variants of one shoe: what one walker plays
            synth = [bank.clip(i) for i in idx if bank.entries[i].footwear == first]
            panels.append((surface, synth, [audio for _, audio in real.get(surface, [])]))
        try:
            plot_surfaces(panels, bank.sample_rate, args.plot)
        except (OSError, ValueError) as exc:
            return _fail(f"{args.plot}: cannot write the plot ({exc})")
        print(f"spectrograms: {args.plot}")
    return EXIT_OK
