"""`footfall bench render|live|mixer|fuzz|serve|serve-frames|serve-fuzz|bank-render|scene`: speed measured side by
side in one run (never as timed tests); damaged files, and hostile messages to the service, counted by outcome."""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from footfall.engine.cli import positive_int
from footfall.engine.commands.common import EXPECTED_ERRORS, load_settings, report


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="benchmarks: render speed against pose alone; live latency; mixer voices against "
                       "real time; damaged files; serve latency and rate; serve with pictures; serve against hostile "
                       "messages; generated banks")
    which = p.add_subparsers(dest="bench", metavar="WHAT")
    which.required = True
    r = which.add_parser("render", help="engine speed beside MediaPipe pose alone over the same frames",
                         description="For each video (and generated clips unless --no-generated: 1280x720 at 30 fps, "
                         "a 1080x1920 portrait clip at 60 fps, 3840x2160 at 30 fps), measures decode+pose alone and "
                         "the whole engine rendering to .mp4, as media seconds per wall second, and the engine's "
                         "overhead as their ratio.")
    r.add_argument("videos", nargs="*", type=Path)
    r.add_argument("--no-generated", action="store_true", help="skip the generated clips")
    r.add_argument("--generated", default="1280x720@30,1080x1920@60,3840x2160@30", metavar="WxH@FPS,...",
                   type=parse_clip_sizes,
                   help="the generated clips (default: %(default)s)")
    r.add_argument("--generated-seconds", type=float, default=20.0)
    r.add_argument("--people", default=(1,), type=positive_ints, metavar="N,...",
                   help="people tracked (--people of render), each count measured in turn (default: 1)")
    r.add_argument("--config", type=Path, metavar="FILE", help="TOML laid over the render preset")
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
    f = which.add_parser("fuzz", help="damaged files through footfall render: each must render or fail cleanly",
                         description="Makes small clips (.mp4 with audio, .mov, .mkv, .webm), damages them (cut short, "
                         "bytes flipped in the header or the payload, MP4 boxes zeroed, garbage written over), renders "
                         "each in its own process with a time limit, and counts renders, clean one-line errors, "
                         "crashes and hangs. Exit 1 if any crashed or hung.")
    f.add_argument("--files", type=positive_int, default=500, help="how many damaged files (default 500)")
    f.add_argument("--timeout", type=float, default=60.0, help="seconds each render may take (default 60)")
    f.add_argument("--jobs", type=positive_int, default=2, help="renders at once (default 2)")
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--keep", type=Path, help="keep the damaged files in this folder")
    f.add_argument("--json", type=Path, help="write every outcome as JSON")
    f.set_defaults(run=run_fuzz)
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
    sc = which.add_parser("scene", help="the scene stage's cost per video frame and a cached bank's swap time",
                          description="Per video frame at 1280x720 and 1920x1080 (30 fps, played as live so CLIP "
                          "runs beside): the cut detector alone and the whole scene tap, against the frame period; one "
                          "CLIP embedding; the time from a scene change to the mixer holding the new bank, cached and "
                          "loaded from disk, against one sound-card block.")
    sc.add_argument("--clip-model", help="open_clip model (default: ViT-B-32's architecture, random weights)")
    sc.add_argument("--frames", type=positive_int, default=300, help="frames per size (default 300)")
    sc.add_argument("--block", type=positive_int, default=256, help="sound-card block in frames (default 256)")
    sc.add_argument("--videos", nargs="+", type=Path, metavar="VIDEO", help="also render these without and with "
                    "--scenes, alternating, twice each (speed as media seconds per wall second)")
    sc.add_argument("--config", type=Path, help="TOML laid over the render preset for those renders ([scene])")
    sc.add_argument("--no-frames", action="store_true", help="only the renders (--videos)")
    sc.add_argument("--json", type=Path)
    sc.set_defaults(run=run_scene)
    sf = which.add_parser("serve-frames", help="footfall serve --frames: JPEG pictures in, posed per second, drops, "
                          "latency", description="Starts footfall serve --frames in its own process on loopback, "
                          "sends a drawn walker crossing the picture as JPEG, looped, at its own rate and faster "
                          "(--speeds), and reports pictures posed per second, dropped, and the time from sending the "
                          "picture that made each step to receiving the step (p50/p95) beside the step's engine_ms.")
    sf.add_argument("--size", default="1280x720", help="picture size WxH (default 1280x720)")
    sf.add_argument("--fps", type=float, default=30.0)
    sf.add_argument("--seconds", type=float, default=20.0)
    sf.add_argument("--quality", type=int, default=3, help="JPEG quantiser, 2 (best) to 31 (default 3)")
    sf.add_argument("--workers", type=positive_int, help="[pose] workers (default: the preset's)")
    sf.add_argument("--speeds", default="1,2", help="sending rates as multiples of --fps, one pass each (default 1,2)")
    sf.add_argument("--json", type=Path)
    sf.set_defaults(run=run_serve_frames)
    f = which.add_parser("serve-fuzz", help="footfall serve against generated malformed and hostile messages",
                         description="Sends N generated bad messages to footfall serve (its own process) with one "
                         "valid character walking among them; passes when the service stays up, its counters "
                         "account for every message, the walker gets every step and memory ends within 5%% of the "
                         "start.")
    f.add_argument("--messages", type=int, default=100_000)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--json", type=Path)
    f.set_defaults(run=run_serve_fuzz)
    g = which.add_parser("bank-render", help="Stable Audio footstep generation speed by sampler steps and batch size",
                         description="Generates N single-step clips per row with Stable Audio Open 1.0's full DiT "
                         "and autoencoder (random weights unless --model; prompts as T5-shaped embeddings), bf16 on "
                         "the GPU, at each number of sampler steps and batch size, and prints the wall time per 64 "
                         "samples against the 2 s target. --tiny --device cpu is a smoke run.")
    g.add_argument("--model", default=None, help="a real model (as footfall bank render --model) instead")
    g.add_argument("--tiny", action="store_true", help="the tiny test architecture instead (CPU smoke run)")
    g.add_argument("--device", default=None, help="cuda or cpu (default: cuda when there is one)")
    g.add_argument("--dtype", default="auto", choices=("auto", "fp32", "fp16", "bf16"))
    g.add_argument("--samples", type=positive_int, default=64, help="clips per row (default 64)")
    g.add_argument("--seconds", type=float, default=1.0, help="seconds per clip (one step; default 1)")
    g.add_argument("--steps", type=positive_ints, default=(100, 8), help="sampler steps (at least 2), comma-separated")
    g.add_argument("--batches", type=positive_ints, default=(1, 2, 4, 8, 16, 32), help="batch sizes")
    g.add_argument("--decode", choices=("each", "together", "both"), default="each",
                   help="decode a batch one clip at a time (Stable Audio Open's config), all together, or both "
                   "side by side")
    g.add_argument("--json", type=Path)
    g.set_defaults(run=run_bank_render)


def run_bank_render(args: argparse.Namespace) -> int:
    from footfall.bank.generation.bench import run

    if min(args.steps) < 2:
        print("footfall bench: --steps must be at least 2 (k-diffusion's samplers need two)", file=sys.stderr)
        return 1
    return run(args)


def positive_ints(text: str) -> tuple[int, ...]:
    """'100,8' as (100, 8) (an argparse type: anything else is a usage error)."""
    try:
        values = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of integers") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"'{text}': need positive integers")
    return values


def run_render(args: argparse.Namespace) -> int:
    from footfall.engine.bench_render import bench_video, format_rows
    from footfall.engine.demo import draw_picture
    from footfall.sinks.stick_figure_video import StickFigureParams
    from footfall.sources.procedural_walkers import ProceduralWalkers, WalkerSceneParams

    try:
        settings = load_settings(args.config)
    except EXPECTED_ERRORS as exc:
        return report(exc)
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="footfall-bench-") as tmp:
            videos = list(args.videos)
            if not args.no_generated:
                for k, (w, h, fps) in enumerate(args.generated):
                    scene = WalkerSceneParams(duration_s=args.generated_seconds, width=w, height=h, fps=fps)
                    clip = Path(tmp) / f"generated_{w}x{h}p{fps:g}.mp4"
                    draw_picture(ProceduralWalkers(scene), clip, StickFigureParams(width=w, height=h, fps=fps))
                    videos.insert(k, clip)
            for video in videos:
                for people in args.people:
                    rows.append(bench_video(video, settings.with_people(people)))
                    print(format_rows(rows[-1:]).splitlines()[-1] if len(rows) > 1 else format_rows(rows), flush=True)
    except EXPECTED_ERRORS as exc:
        return report(exc)
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ | {"overhead": r.overhead} for r in rows], indent=2))
    return 0


def parse_clip_sizes(text: str) -> list[tuple[int, int, float]]:
    """'1280x720@30,1080x1920@60' as (width, height, fps) triples (an argparse type: a bad entry is a usage error)."""
    out = []
    for item in filter(None, (t.strip() for t in text.split(","))):
        try:
            size, fps = item.split("@")
            w, h = (int(v) for v in size.lower().split("x"))
            out.append((w, h, float(fps)))
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{item}' is not WxH@FPS") from None
        if min(out[-1]) <= 0:
            raise argparse.ArgumentTypeError(f"'{item}': size and rate must be positive")
    return out


def run_fuzz(args: argparse.Namespace) -> int:
    from footfall.engine.bench_fuzz import run_fuzz as fuzz, summary

    done = [0]

    def progress(result) -> None:
        done[0] += 1
        if result.outcome in ("crash", "hang") or done[0] % 50 == 0:
            print(f"  {done[0]}/{args.files} ... {result.outcome}: {result.case.path.name}", flush=True)

    results = fuzz(args.files, args.timeout, args.seed, args.jobs, args.keep, progress)
    print(summary(results))
    if args.json:
        args.json.write_text(json.dumps([{"file": r.case.path.name, "seed_clip": r.case.seed_clip,
                                          "mutation": r.case.mutation, "outcome": r.outcome, "exit": r.returncode,
                                          "last_line": r.last_line, "seconds": round(r.seconds, 2)}
                                         for r in results], indent=1))
    return 1 if any(r.outcome in ("crash", "hang") for r in results) else 0


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


def run_scene(args: argparse.Namespace) -> int:
    from footfall.engine.scene.bench import (bench_render_scenes, bench_scene, format_render_rows, format_result,
                                             save_random_vit_b32)
    from footfall.engine.scene.clip_model import ClipUnavailable

    try:
        settings = load_settings(args.config, "live")  # the frames are played as live
        with tempfile.TemporaryDirectory(prefix="footfall-bench-clip-") as tmp:
            clip = args.clip_model or str(save_random_vit_b32(Path(tmp) / "vit-b-32"))
            result = {} if args.no_frames else bench_scene(clip, args.frames, block=args.block,
                                                           params=settings.scene)
            if result:
                print(format_result(result), flush=True)
            if args.videos:
                result["renders"] = bench_render_scenes(args.videos, clip, config=args.config)
                print(format_render_rows(result["renders"]))
    except (ClipUnavailable, *EXPECTED_ERRORS) as exc:
        return report(exc)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
def run_serve_frames(args: argparse.Namespace) -> int:
    from footfall.engine.serve.bench_frames import serve_frames

    try:
        (width, height, _), = parse_clip_sizes(f"{args.size}@1")
    except (argparse.ArgumentTypeError, ValueError):
        return report(ValueError(f"--size {args.size}: not WxH"))
    try:
        speeds = tuple(float(v) for v in args.speeds.split(","))
    except ValueError:
        return report(ValueError(f"--speeds {args.speeds}: not a list of numbers"))
    if not speeds or min(speeds) <= 0:
        return report(ValueError(f"--speeds {args.speeds}: speeds must be positive"))
    row = serve_frames(width, height, args.fps, args.seconds, args.quality, args.workers, speeds)
    print(json.dumps(row, indent=1))
    if args.json:
        args.json.write_text(json.dumps(row, indent=2))
    return 0


def run_serve_fuzz(args: argparse.Namespace) -> int:
    from footfall.engine.serve.bench import fuzz

    row = fuzz(args.messages, args.seed)
    print(json.dumps(row, indent=1))
    if args.json:
        args.json.write_text(json.dumps(row, indent=2))
    ok = row["alive"] and row["accounted"] and row["walker_steps_right"] and abs(row["rss_change"]) <= 0.05
    print("fuzz: " + ("pass" if ok else "FAIL"))
    return 0 if ok else 1
