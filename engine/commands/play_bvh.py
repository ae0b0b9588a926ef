"""`footfall play-bvh BVH...`: an example game. Streams motion-capture takes to a running `footfall serve` as
characters' joints and prints (or writes) the steps that come back."""
from __future__ import annotations

import argparse
import heapq
import sys
import time
from pathlib import Path

from footfall.engine.commands.common import report
from footfall.engine.messages import NS_PER_S, StepEvent
from footfall.engine.streams import frame_time_ns

TIMEOUT_S = 10.0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("play-bvh", help="stream BVH takes to a running footfall serve and print their steps",
                       description="Each take becomes a character (named after the file), all starting together "
                       "just after the service's current media time, streamed at the take's own frame rate (or as "
                       "fast as the service accepts with --fast). Joint names are mapped by config/skeletons.toml "
                       "(or --skeletons FILE). Steps are printed, or written with --json in the format of "
                       "`render --events` (times from the start of the takes).")
    p.add_argument("bvh", nargs="+", type=Path, metavar="BVH")
    p.add_argument("--connect", default="tcp://127.0.0.1", metavar="ADDR",
                   help="tcp://HOST[:PORT] of the service: poses at PORT (5555), events PORT+1, control PORT+2")
    p.add_argument("--poses", metavar="ENDPOINT", help="poses endpoint (overrides --connect; ipc:// works)")
    p.add_argument("--events", metavar="ENDPOINT", help="events endpoint (overrides --connect)")
    p.add_argument("--control", metavar="ENDPOINT", help="control endpoint (overrides --connect)")
    p.add_argument("--fast", action="store_true", help="send as fast as the service's rate limit allows")
    p.add_argument("--json", metavar="OUT", help="write the steps here (render --events format); a "
                   "folder (an existing one, or OUT ending in /): one OUT/<take>.events.json per take")
    p.add_argument("--skeletons", type=Path, metavar="FILE", help="extra joint-name mappings")
    p.add_argument("--curve-secret", metavar="FILE", help="this client's CURVE .key_secret (with --curve-server)")
    p.add_argument("--curve-server", metavar="FILE", help="the service's CURVE public .key")
    p.set_defaults(run=run)


def load_takes(paths: list[Path], skeletons: Path | None) -> list[tuple[str, list[str], object, float]]:
    """(character name, bone names, world positions in metres Y up, fps) per take; bad files fail here, before
    anything is sent."""
    from footfall.engine.evaluation.bvh import read_bvh, world_positions
    from footfall.engine.skeletons import FOOT_ROLES, load_schemes, map_joints

    schemes = load_schemes(skeletons)
    takes, names = [], set()
    for path in paths:
        motion = read_bvh(path)
        bones = [j.name for j in motion.joints]
        map_joints(bones, schemes, FOOT_ROLES, source=str(path))
        name = path.stem[:56]
        while name in names:
            name += "+"
        names.add(name)
        takes.append((name, bones, world_positions(motion), motion.fps))
    return takes


def run(args: argparse.Namespace) -> int:
    from footfall.engine.client import ClientCurve, ClientError, Endpoints, FootfallClient
    from footfall.engine.evaluation.bvh import BvhError
    from footfall.engine.skeletons import SkeletonError
    from footfall.sinks.errors import SinkError
    from footfall.sinks.events import EventSink

    try:
        takes = load_takes(args.bvh, args.skeletons)
        base = Endpoints.from_address(args.connect)
        endpoints = Endpoints(args.poses or base.poses, args.events or base.events, args.control or base.control)
        curve = ClientCurve(args.curve_secret, args.curve_server) if args.curve_secret and args.curve_server else None
        out = Path(args.json) if args.json is not None else None
        per_take = out is not None and (out.is_dir() or args.json.endswith("/"))
        if per_take:
            out.mkdir(parents=True, exist_ok=True)
            sinks = {t[0]: EventSink(out / f"{p.stem}.events.json") for t, p in zip(takes, args.bvh)}
        elif out is not None:
            sinks = dict.fromkeys([t[0] for t in takes], EventSink(out))
        else:
            sinks = {}
        def show(character: str, ev: StepEvent) -> None:
            if not sinks:
                print(f"{character}  {ev.foot:5s}  {ev.t_ns / NS_PER_S:8.3f} s  delay {ev.delay_ns / 1e6:5.1f} ms",
                      flush=True)

        with FootfallClient(endpoints, curve) as client:
            events, start_ns = stream(client, takes, args.fast, show)
        steps = [as_event(d, start_ns) for _, d in events]
        for (character, _), ev in zip(events, steps):
            if sinks:
                sinks[character].write(ev)
        for (name, _, _, _), path in zip(takes, args.bvh):
            if name in sinks:
                sinks[name].close({"source": "play-bvh", "take": str(path), "start_ns": start_ns,
                                   "steps": sum(1 for c, _ in events if c == name or not per_take)})
    except (OSError, ValueError, BvhError, SkeletonError, ClientError, SinkError) as exc:
        return report(exc)
    print(f"{len(steps)} steps from {len(takes)} take(s)", file=sys.stderr)
    return 0


def as_event(d: dict, start_ns: int) -> StepEvent:
    """A step message as a StepEvent, its time counted from the takes' start."""
    return StepEvent(d["t_ns"] - start_ns, d["track_id"], d["foot"], d["x"], d["y"], d["depth"], d["intensity"],
                     d["confidence"], int(round(d["delay_ms"] * 1e6)))


def stream(client, takes, fast: bool, on_step=None) -> tuple[list[tuple[str, dict]], int]:
    """Sends every take's frames interleaved in time and collects the steps of our characters until the service
    says each character's stream is processed (`on_step(character, event)` as each arrives). Returns
    [(character, step message)] and the takes' start time."""
    status = client.status()
    client.wait_connected()
    start_ns = status["media_ns"] + (NS_PER_S if status["media_ns"] else 0)
    rate = 0.9 * float(status["limits"]["rate_limit_hz"])
    for name, bones, _, _ in takes:
        client.describe(name, bones)
    queue = [((i / rate if fast else i / fps), k, i) for k, (_, _, pos, fps) in enumerate(takes)
             for i in range(pos.shape[0])]
    heapq.heapify(queue)
    names = {t[0] for t in takes}
    remaining = set(names)
    frames_left = [t[2].shape[0] for t in takes]
    events: list[tuple[str, dict]] = []

    def collect(timeout_s: float = 0.0) -> None:
        for topic, doc in client.messages(timeout_s):
            if topic == "step" and doc.get("character") in names:
                events.append((doc["character"], doc))
                if on_step is not None:
                    on_step(doc["character"], as_event(doc, start_ns))
            elif topic == "status" and doc.get("kind") == "end":
                remaining.discard(doc.get("character"))

    began = time.monotonic()
    while queue:
        due, k, i = heapq.heappop(queue)
        wait = began + due - time.monotonic()
        if wait > 0:
            collect(wait)
        name, _, positions, fps = takes[k]
        client.frame(name, start_ns + frame_time_ns(i, fps), positions[i])
        frames_left[k] -= 1
        if frames_left[k] == 0:
            client.end(name)
        collect()
    deadline = time.monotonic() + TIMEOUT_S
    while remaining and time.monotonic() < deadline:
        collect(0.1)
    if remaining:
        from footfall.engine.client import ClientError

        raise ClientError(f"no end-of-stream from the service for {', '.join(sorted(remaining))}")
    return sorted(events, key=lambda e: e[1]["t_ns"]), start_ns
