"""`footfall bench render|mixer`: speed measured side by side in one run (never as timed unit tests)."""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from footfall.engine.commands.common import EXPECTED_ERRORS, load_settings, report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks: render speed against pose alone; live latency; mixer voices")
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
    lv = which.add_parser("live", help="a walker played as live at 720p30 and 1080p60 to a paced sound card",
                          description="Plays VIDEO (a walker) forward and back as live, re-encoded at 1280x720 30 fps "
                          "and 1920x1080 60 fps, through `footfall live` to PortAudio on ALSA's null device paced by "
                          "the sink (or --device), and reports per-step latency (contact frame's arrival to the "
                          "sound's DAC time) against the detector's own delay, frames dropped, underruns and memory.")
    lv.add_argument("video", type=Path, help="a video of someone walking (e.g. the indoor walk in ../shared/eval)")
    lv.add_argument("--minutes", type=float, default=10.0, help="length of the 720p30 run")
    lv.add_argument("--minutes-1080", type=float, default=2.0, help="length of the 1080p60 run (0: skip)")
    lv.add_argument("--block", type=int, default=256, help="frames per sound-card callback")
    lv.add_argument("--device", help="a real output device instead of the paced null device")
    lv.add_argument("--keep", type=Path, help="keep the clips and stats files in this folder")
    lv.add_argument("--json", type=Path)
    lv.set_defaults(run=run_live)
    m = which.add_parser("mixer", help="numba mixer against the NumPy reference, by number of voices")
    m.add_argument("--voices", default="1,16,64,256", help="comma-separated voice counts")
    m.add_argument("--seconds", type=float, default=10.0, help="media seconds per measurement")
    m.add_argument("--json", type=Path)
    m.set_defaults(run=run_mixer)


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


def run_live(args: argparse.Namespace) -> int:
    from footfall.engine.bench_live import LiveCase, bench_live
    from footfall.sources.video_file import probe

    try:
        probe(args.video)
    except EXPECTED_ERRORS as exc:
        return report(exc)
    cases = [LiveCase("720p30", 1280, 720, 30, args.minutes * 60)]
    if args.minutes_1080 > 0:
        cases.append(LiveCase("1080p60", 1920, 1080, 60, args.minutes_1080 * 60))
    extra = ["--block", str(args.block)] + (["--device", args.device] if args.device else [])
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    try:
        rows = bench_live(args.video, cases, extra, args.keep)
    except RuntimeError as exc:
        return report(exc)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


def run_mixer(args: argparse.Namespace) -> int:
    from footfall.engine.mixer.bench import bench_mixer, format_table

    counts = tuple(int(v) for v in args.voices.split(","))
    rows = bench_mixer(voice_counts=counts, seconds=args.seconds)
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0
