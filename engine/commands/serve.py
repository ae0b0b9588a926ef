"""`footfall serve`: the engine as a ZeroMQ service for games and virtual production; `footfall keys`: CURVE keys."""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

import zmq

from footfall.engine.commands.common import EXPECTED_ERRORS, report
from footfall.engine.serve.security import SecurityError, create_keys
from footfall.engine.skeletons import SkeletonError

SERVE_ERRORS = EXPECTED_ERRORS + (SecurityError, SkeletonError, zmq.ZMQError)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve", help="run the engine as a ZeroMQ service (3-D skeletons or pictures in; steps, status and audio out)",
        description="Takes characters' skeletons from games and virtual-production tools over ZeroMQ and publishes "
        "their steps and the mixed footstep audio. Endpoints (all [serve] settings): poses in tcp://127.0.0.1:5555 "
        "(PULL, or SUB), events out :5556 (PUB topics step, scene, status), control :5557 (REP), audio out :5558 "
        "(PUB topic audio). With --frames it takes pictures (JPEG or raw RGB) instead of skeletons and finds the "
        "steps with pose and the causal 2-D detector. The protocol is in docs/protocol.md. Ctrl-C or a shutdown "
        "request stops it.")
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML laid over the default preset ([serve], "
                   "[steps3d], [mixer], [render] surface/footwear)")
    p.add_argument("--bank", help="sound bank directory or folder of recordings (default: the built-in bank)")
    p.add_argument("--scenes", metavar="BANKS_DIR", help="a folder of bank directories: a request that sets "
                   "everyone's surface (and footwear) swaps in the folder's bank for it ([refresh])")
    p.add_argument("--vmc", nargs="?", const="127.0.0.1:39539", metavar="HOST:PORT",
                   help="also take VMC (OSC over UDP, default 127.0.0.1:39539) as character [serve] vmc_character")
    p.add_argument("--frames", nargs="?", const="tcp://127.0.0.1:5559", metavar="ENDPOINT",
                   help="take pictures instead of skeletons: PULL at ENDPOINT (default tcp://127.0.0.1:5559, "
                   "[serve] frames), each message a JSON header and a JPEG or rgb24 payload; pictures that come "
                   "faster than pose are dropped and counted")
    p.add_argument("--insecure", action="store_true",
                   help="allow binding beyond loopback without CURVE (anyone who can reach the port can use it)")
    p.set_defaults(run=run)
    k = sub.add_parser("keys", help="make a CURVE key pair for serve or a client",
                       description="Writes NAME.key (public: give it to the other side; a client's goes into the "
                       "service's [serve] curve_clients folder) and NAME.key_secret (keep it private) into DIR.")
    k.add_argument("folder", type=Path, metavar="DIR")
    k.add_argument("--name", default="server", help="file name stem (default server)")
    k.set_defaults(run=run_keys)


def run(args: argparse.Namespace) -> int:
    from footfall.engine import config
    from footfall.engine.serve.service import ServeSettings, serve

    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        table = config.load("default", args.config)
        if args.vmc:
            table.setdefault("serve", {})["vmc"] = args.vmc
        if args.frames:
            table.setdefault("serve", {})["frames"] = args.frames
        settings = ServeSettings.from_config(table, str(args.config) if args.config else "default preset")

        def ready(endpoints: dict) -> None:
            print("footfall serve: " + "  ".join(f"{k} {v}" for k, v in endpoints.items()), file=sys.stderr,
                  flush=True)

        summary = serve(settings, args.bank, args.insecure, stop, ready, scenes=args.scenes)
    except SERVE_ERRORS as exc:
        return report(exc)
    finally:
        signal.signal(signal.SIGINT, previous)
    print(f"footfall serve: stopped after {summary.steps} steps, {summary.media_s:.2f} s of audio", file=sys.stderr)
    return 0


def run_keys(args: argparse.Namespace) -> int:
    try:
        public, secret = create_keys(args.folder, args.name)
    except (SecurityError, OSError) as exc:
        return report(exc)
    print(f"public key {public}\nsecret key {secret}")
    return 0
