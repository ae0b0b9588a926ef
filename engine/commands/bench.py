"""`footfall bench render|mixer|serve|fuzz`: speed measured side by side in one run (never as timed unit tests)."""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from footfall.engine.commands.common import EXPECTED_ERRORS, load_settings, report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks: render speed against pose alone; mixer voices against real time; "
                       "serve latency and rate; serve against hostile messages")
    which = p.add_subparsers(dest="bench", metavar="WHAT")
    which.required = True
    r = which.add_parser("render", help="engine speed beside MediaPipe pose alone over the same frames",
                         description="For each video (and a generated 720p 30 fps clip unless --no-generated), "
                         "measures decode+pose alone and the whole engine rendering to .mp4, as media seconds per "
                         "wall second, and the engine's overhead as their ratio.")
    r.add_argument("videos", nargs="*", type=Path)
    r.add_argument("--no-generated", action="store_true", help="skip the generated 720p clip")
    r.add_argument("--generated-seconds", type=float, default=20.0)
    r.add_argument("--json", type=Path, help="write the rows as JSON")
    r.set_defaults(run=run_render)
    m = which.add_parser("mixer", help="numba mixer against the NumPy reference, by number of voices")
    m.add_argument("--voices", default="1,16,64,256", help="comma-separated voice counts")
    m.add_argument("--seconds", type=float, default=10.0, help="media seconds per measurement")
    m.add_argument("--json", type=Path)
    m.set_defaults(run=run_mixer)
    s = which.add_parser("serve", help="footfall serve: pose-in to step-out latency and sustained messages/s",
                         description="Starts footfall serve in its own process on loopback, walks C characters "
                         "at F fps in real time (latency from sending the frame that made each step to receiving "
                         "it: p50/p95), then sends the same characters as fast as the service takes them.")
    s.add_argument("--characters", type=int, default=16)
    s.add_argument("--fps", type=int, default=60)
    s.add_argument("--seconds", type=float, default=20.0, help="real-time walk length")
    s.add_argument("--switch-interval-ms", default="5",
                   help="Python thread switch intervals to run the service with, comma-separated, side by side")
    s.add_argument("--json", type=Path)
    s.set_defaults(run=run_serve)
    f = which.add_parser("fuzz", help="footfall serve against generated malformed and hostile messages",
                         description="Sends N generated bad messages to footfall serve (its own process) with one "
                         "valid character walking among them; passes when the service stays up, its counters "
                         "account for every message, the walker gets every step and memory ends within 5%% of the "
                         "start.")
    f.add_argument("--messages", type=int, default=100_000)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--json", type=Path)
    f.set_defaults(run=run_fuzz)


def run_render(args: argparse.Namespace) -> int:
    from footfall.engine.bench_render import bench_video, format_rows
    from footfall.engine.demo import draw_picture
    from footfall.sinks.stick_figure_video import StickFigureParams
    from footfall.sources.procedural_walkers import ProceduralWalkers, WalkerSceneParams

    settings = load_settings(None)
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="footfall-bench-") as tmp:
            videos = list(args.videos)
            if not args.no_generated:
                scene = WalkerSceneParams(duration_s=args.generated_seconds)
                clip = Path(tmp) / "generated_720p30.mp4"
                draw_picture(ProceduralWalkers(scene), clip, StickFigureParams(width=1280, height=720, fps=30.0))
                videos.insert(0, clip)
            for video in videos:
                rows.append(bench_video(video, settings))
                print(format_rows(rows[-1:]).splitlines()[-1] if len(rows) > 1 else format_rows(rows), flush=True)
    except EXPECTED_ERRORS as exc:
        return report(exc)
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ | {"overhead": r.overhead} for r in rows], indent=2))
    return 0


def run_mixer(args: argparse.Namespace) -> int:
    from footfall.engine.mixer.bench import bench_mixer, format_table

    counts = tuple(int(v) for v in args.voices.split(","))
    rows = bench_mixer(voice_counts=counts, seconds=args.seconds)
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from footfall.engine.serve.bench import latency

    rows = []
    for interval in (float(v) for v in args.switch_interval_ms.split(",")):
        rows.append({"switch_interval_ms": interval, **latency(args.characters, args.fps, args.seconds,
                                                               serve_table={"switch_interval_ms": interval})})
        print(json.dumps(rows[-1], indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0 if all(r["all_steps_right"] for r in rows) else 1


def run_fuzz(args: argparse.Namespace) -> int:
    from footfall.engine.serve.bench import fuzz

    row = fuzz(args.messages, args.seed)
    print(json.dumps(row, indent=1))
    if args.json:
        args.json.write_text(json.dumps(row, indent=2))
    ok = row["alive"] and row["accounted"] and row["walker_steps_right"] and abs(row["rss_change"]) <= 0.05
    print("fuzz: " + ("pass" if ok else "FAIL"))
    return 0 if ok else 1
