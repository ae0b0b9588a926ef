"""`footfall render IN -o OUT`: a video's footsteps rendered to a soundtrack, an audio file, and events."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from footfall.engine.cli import positive_int
from footfall.engine.commands.common import EXPECTED_ERRORS, add_scene_arguments, load_settings, report, summary_line
from footfall.engine.progress import Progress
from footfall.engine.render import AUDIO_SUFFIXES, VIDEO_SUFFIXES, render_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("render", help="render footsteps for a video file",
                       description="Finds every step in a video and writes the footstep soundtrack: the same video "
                       "with a new footstep audio track (.mp4/.mov/.mkv; video packets copied untouched), or an audio "
                       "file (.wav/.flac) exactly as long as the video.")
    p.add_argument("input", type=Path, help="video file")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help=f"output file ({', '.join(VIDEO_SUFFIXES + AUDIO_SUFFIXES)})")
    p.add_argument("--events", type=Path, help="also write the step events (.json or .csv)")
    p.add_argument("--surface", help="ground surface, e.g. concrete, wood, gravel (see `footfall bank info`)")
    p.add_argument("--footwear", help="footwear: hard_sole, sneaker, boot, high_heel, barefoot")
    p.add_argument("--bank", help="sound bank: a bank directory or a folder of your own recordings "
                   "(<surface>/<footwear>/*.wav); default: the built-in procedural bank")
    p.add_argument("--original-audio", choices=("track", "mix", "drop"),
                   help="the input's own audio: kept as a second track (default), mixed under, or dropped")
    p.add_argument("--people", type=positive_int, metavar="N",
                   help="track up to N people, each with its own id and steps (default: [pose] max_people, 1: "
                   "one person, the fastest; more: each tracked in a region of their own, named by a tracker)")
    p.add_argument("--mode", choices=("render", "live"), help="step detector mode (default render: look-ahead "
                   "for exact timing; live: causal)")
    add_scene_arguments(p)
    p.add_argument("--config", type=Path, help="TOML file laid over the render preset")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    staged = None
    try:
        settings = load_settings(args.config, "render", {"surface": args.surface, "footwear": args.footwear,
                                                         "original_audio": args.original_audio}, args.mode)
        settings = settings.with_people(args.people).with_clip_model(args.clip_model)
        from footfall.engine.render import stage_outputs
        from footfall.sources.video_file import probe

        info = probe(args.input)
        if not info.orientation.is_identity:
            print(f"footfall: {args.input} is shown {info.orientation.describe()} (display matrix): analysing the "
                  f"picture as shown, {info.width}x{info.height}", file=sys.stderr)
        staged = stage_outputs(args.input, args.output, args.events)
        progress = Progress(info.duration_ns_hint / 1e9, enabled=False if args.quiet else None)
        summary = render_file(args.input, args.output, settings, args.events, args.bank, progress, staged, info,
                              scenes=args.scenes, notice=lambda line: print(f"footfall: {line}", file=sys.stderr))
        progress.finish()
    except EXPECTED_ERRORS as exc:
        return report(exc, staged.note() if staged is not None else "")
    except KeyboardInterrupt as stop:
        raise type(stop)(staged.note() if staged is not None else "") from None
    print(summary_line(summary, args.output))
    return 0
