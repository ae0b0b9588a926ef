"""`footfall live SOURCE`: footsteps for a camera, a network stream or a file played as live, on the sound card."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from footfall.engine.cli import positive_int
from footfall.engine.commands.common import EXPECTED_ERRORS, add_scene_arguments, report
from footfall.sinks.errors import SinkError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("live", help="play footsteps live for a camera, a stream or a file played as live",
                       description="Tracks feet in a live source and plays each footstep on the sound card as soon "
                       "as the landing is seen. SOURCE is camera:N (or /dev/videoN), a stream URL (rtsp, rtmp, srt, "
                       "udp/tcp MPEG-TS, http(s), HLS .m3u8), or a video file, played at its own pace as if live "
                       "(the run ends with the file). Cut streams and unplugged cameras are re-opened with backoff. "
                       "Ctrl-C or SIGTERM stops within a second, every output finished.",
                       epilog="`footfall devices` lists cameras and sound cards. Settings: [sound_card] and "
                       "[capture] in config/default.toml.")
    p.add_argument("source", help="camera:N, /dev/videoN, a stream URL, or a video file")
    p.add_argument("--device", help="output device: index or (part of a) name (default: the system's)")
    p.add_argument("--block", type=positive_int, metavar="N", help="frames per sound-card callback (default 256)")
    p.add_argument("--record", type=Path, metavar="OUT.wav", help="also write exactly what was played (.wav/.flac)")
    p.add_argument("--events", type=Path, help="also write the step events (.json or .csv)")
    p.add_argument("--stats", action="store_true", help="print latency, drops, underruns and memory at the end")
    p.add_argument("--stats-json", type=Path, metavar="FILE", help="write the measurements (and every step's timing)")
    p.add_argument("--surface", help="ground surface, e.g. concrete, wood, gravel (see `footfall bank info`)")
    p.add_argument("--footwear", help="footwear: hard_sole, sneaker, boot, high_heel, barefoot")
    p.add_argument("--bank", help="sound bank: a bank directory or a folder of your own recordings")
    p.add_argument("--people", type=positive_int, metavar="N", help="track up to N people (see `render --help`)")
    p.add_argument("--loop", type=positive_int, metavar="N", default=1,
                   help="a file source: play it N times end to end as one stream (installations, soak tests)")
    add_scene_arguments(p)
    p.add_argument("--predict", action="store_true",
                   help="schedule each step for the contact its heel's peak predicts instead of waiting to see the "
                   "foot land: about 35 ms sooner, less exact ([steps] live_predict)")
    p.add_argument("--config", type=Path, help="TOML file laid over the live preset")
    p.add_argument("--quiet", action="store_true", help="no status line")
    p.set_defaults(run=run)


def _check_writable(path: Path | None) -> None:
    if path is not None and not (path.parent.is_dir() and os.access(path.parent, os.W_OK)):
        raise SinkError(path, "cannot write: its folder does not exist or is not writable")


def load_live_settings(args: argparse.Namespace):
    from footfall.engine.config import ConfigError, load
    from footfall.engine.live import LiveSettings

    table = load("live", args.config)
    table.setdefault("render", {}).update({k: v for k, v in {"surface": args.surface,
                                                             "footwear": args.footwear}.items() if v is not None})
    if args.predict:
        table.setdefault("steps", {})["live_predict"] = True
    card = table.setdefault("sound_card", {})
    if args.device is not None:
        card["device"] = args.device
    if args.block is not None:
        card["block"] = args.block
    settings = LiveSettings.from_config(table, str(args.config) if args.config else "live preset")
    try:
        from dataclasses import replace

        return replace(settings, render=settings.render.with_people(args.people).with_clip_model(args.clip_model))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    from footfall.engine.live import run_live
    from footfall.engine.live_stats import format_stats

    shown: dict = {}
    try:
        settings = load_live_settings(args)
        _check_writable(args.stats_json)
        result = run_live(args.source, settings, args.bank, args.events, args.record, args.stats_json,
                          status=False if args.quiet else None, on_result=lambda r: shown.update(doc=r.stats),
                          passes=args.loop, scenes=args.scenes,
                          notice=lambda line: print(f"footfall: {line}", file=sys.stderr))
    except EXPECTED_ERRORS as exc:
        return report(exc)
    except KeyboardInterrupt:
        if args.stats and "doc" in shown:
            print(format_stats(shown["doc"]))
        raise  # the CLI reports it: 130 for Ctrl-C, 143 for SIGTERM (engine/cli.py)
    doc = result.stats
    if args.stats:
        print(format_stats(doc))
    print(f"{doc['steps']} steps played  latency p50 {_ms(doc['latency_ms']['p50'])} p95 "
          f"{_ms(doc['latency_ms']['p95'])}  {doc['frames_dropped']} frames dropped  {doc['underruns']} underruns"
          f"  in {doc['wall_s']:.1f} s", file=sys.stdout)
    return 0


def _ms(value) -> str:
    return "--" if value is None else f"{value:.0f} ms"
