"""`footfall demo`: renders demo.mp4 from the built-in walkers, with no video or download needed."""
from __future__ import annotations

import argparse
from pathlib import Path

from footfall.engine.commands.common import EXPECTED_ERRORS, load_settings, report, summary_line
from footfall.engine.progress import Progress


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="render demo.mp4 from a built-in pose stream (two walkers, a surface change)",
                       description="Drives the real engine (step detection, mixer, muxer) from a procedurally "
                       "animated pose stream: two people at different depths cross the frame and the ground changes "
                       "from wood to gravel. Writes a stick-figure video with the rendered footsteps muxed in; "
                       "rings mark the animation's true heel strikes so you can judge the sync by eye and ear.")
    p.add_argument("-o", "--output", type=Path, default=Path("demo.mp4"), help="output video (default demo.mp4)")
    p.add_argument("--events", type=Path, help="also write the step events (.json or .csv)")
    p.add_argument("--bank", help="sound bank directory or folder of recordings (default: built-in)")
    p.add_argument("--seed", type=int, default=0, help="variation seed for the walkers")
    p.add_argument("--config", type=Path, help="TOML file laid over the render preset")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from footfall.engine.demo import demo_duration_s, run_demo
    from footfall.sources.procedural_walkers import WalkerSceneParams

    try:
        settings = load_settings(args.config)
        scene = WalkerSceneParams(seed=args.seed)
        progress = Progress(demo_duration_s(scene), enabled=False if args.quiet else None)
        summary = run_demo(args.output, settings, scene, args.events, args.bank, progress)
        progress.finish()
    except EXPECTED_ERRORS as exc:
        return report(exc)
    print(summary_line(summary, args.output))
    return 0
