"""Benchmarks of a running `footfall serve` (started here as its own process, as it runs for a game):

- latency: C characters walking at F fps in real time; for every step, the wall time from sending the frame that
  made it (the event's t_ns + delay: the detector's own delay is excluded) to receiving the event, p50/p95, and the
  part of it inside the engine (the step message's engine_ms: that frame's arrival to the step's publication). Then
  the same characters as fast as the service takes them: sustained pose messages per second.
- fuzz: N generated malformed and hostile messages, with one valid character walking among them; the service must
  stay up, its counters must account for every message, the character must get every step the detector finds
  offline, and the service's memory at the end must be within 5% of the start.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from footfall.engine.client import Endpoints, FootfallClient
from footfall.engine.steps.contact3d import ContactDetector3D
from footfall.engine.streams import frame_time_ns, skeleton_stream, walking_feet

BONES = ["Hips", "LeftAnkle", "LeftToe", "RightAnkle", "RightToe"]


def joints(feet_frame: np.ndarray) -> np.ndarray:
    return np.concatenate([[[0.0, 1.0, 0.0]], feet_frame])


def offline_steps(feet: np.ndarray, fps: int, start_ns: int = 0) -> list[tuple[int, str]]:
    """What the service must find for a walk (on the positions as the client rounds them)."""
    d = ContactDetector3D()
    return [(e.t_ns, e.foot) for s in skeleton_stream(np.round(feet, 5), fps, start_ns=start_ns) for e in d.push(s)]


@dataclass
class Service:
    """`footfall serve` in a child process on loopback ports from `base`."""

    base: int
    config: dict = field(default_factory=dict)
    process: subprocess.Popen | None = None

    def __enter__(self) -> "Service":
        self._dir = tempfile.TemporaryDirectory(prefix="footfall-bench-serve-")
        path = Path(self._dir.name) / "serve.toml"
        lines = ["[serve]"] + [f'{k} = "tcp://127.0.0.1:{self.base + i}"'
                               for i, k in enumerate(("poses", "events", "control", "audio"))]
        lines += [f"{k} = {json.dumps(v)}" for k, v in self.config.get("serve", {}).items()]
        lines += ["[serve.limits]"] + [f"{k} = {v}" for k, v in self.config.get("limits", {}).items()]
        for table, values in self.config.items():  # any other table, e.g. [pose]
            if table not in ("serve", "limits"):
                lines += [f"[{table}]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items()]
        path.write_text("\n".join(lines) + "\n")
        self.process = subprocess.Popen([sys.executable, "-m", "footfall.engine.cli", "serve", "--config", str(path)],
                                        stderr=subprocess.PIPE, text=True)
        assert self.process.stderr is not None
        line = self.process.stderr.readline()
        if " events " not in line:
            raise RuntimeError(f"footfall serve did not start: {line.strip()}")
        return self

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints.from_address(f"tcp://127.0.0.1:{self.base}")

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)
        self._dir.cleanup()


class Listener(threading.Thread):
    """Reads the events socket on its own thread: steps with their arrival time, end notices, a status count."""

    def __init__(self, client: FootfallClient) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.steps: list[tuple[float, dict]] = []
        self.ended: set[str] = set()
        self.status_messages = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            for topic, doc in self.client.messages(0.05):
                if topic == "step":
                    self.steps.append((time.perf_counter(), doc))
                elif topic == "status":
                    self.status_messages += 1
                    if doc.get("kind") == "end":
                        self.ended.add(doc["character"])

    def wait_ended(self, names: set[str], timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not names <= self.ended:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no end notice for {sorted(names - self.ended)[:3]}")
            time.sleep(0.01)


def free_base_port(count: int = 4) -> int:
    """A port P such that P .. P+count-1 are free on 127.0.0.1 right now (the service's endpoints, and the tests')."""
    import socket

    while True:
        base = random.randint(20000, 60000)
        held = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()


@contextmanager
def connected(service: "Service") -> Iterator[tuple[FootfallClient, "Listener", FootfallClient]]:
    """(control, a started Listener on the events, a sender) connected to `service`; all closed on the way out."""
    control = FootfallClient(service.endpoints)
    control.wait_connected()
    events = FootfallClient(service.endpoints, topics=("step", "status"))
    events.wait_connected()
    listener = Listener(events)
    listener.start()
    sender = FootfallClient(service.endpoints, topics=())
    try:
        yield control, listener, sender
    finally:
        listener.halt.set()
        listener.join()
        for c in (control, events, sender):
            c.close()


def latency(characters: int = 16, fps: int = 60, seconds: float = 20.0, fast_seconds: float = 10.0,
            serve_table: dict | None = None) -> dict:
    feet = walking_feet(fps, seconds)
    names = [f"walker{k:02d}" for k in range(characters)]
    expected = offline_steps(feet, fps)
    with Service(free_base_port(), {"serve": serve_table or {}}) as service, \
            connected(service) as (control, listener, sender):
        for name in names:
            sender.describe(name, BONES)
        sent_at: dict[tuple[str, int], float] = {}
        began = time.perf_counter()
        for i in range(feet.shape[0]):
            wait = began + i / fps - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            t = frame_time_ns(i, fps)
            for name in names:
                sent_at[(name, t)] = time.perf_counter()
                sender.frame(name, t, joints(feet[i]))
        for name in names:
            sender.end(name)
        listener.wait_ended(set(names))
        steps = [(arrived, doc) for arrived, doc in listener.steps if doc["character"] in names]
        lat = [arrived - sent_at[(doc["character"], doc["t_ns"] + int(round(doc["delay_ms"] * 1e6)))]
               for arrived, doc in steps]
        engine = np.array([doc["engine_ms"] for _, doc in steps if "engine_ms" in doc])
        complete = all([(d["t_ns"], d["foot"]) for _, d in steps if d["character"] == n] == expected for n in names)
        # sustained: the same characters as fast as the service takes them
        fast = walking_feet(fps, fast_seconds)
        listener.ended.clear()
        for name in names:  # their ends freed them: described again
            sender.describe(name, BONES)
        before = control.status()["counters"].get("frames", 0)
        t0 = time.perf_counter()
        offset = frame_time_ns(feet.shape[0] + fps, fps)
        for i in range(fast.shape[0]):
            for name in names:
                sender.frame(name, offset + frame_time_ns(i, fps), joints(fast[i]))
        for name in names:
            sender.end(name)
        listener.wait_ended(set(names))
        wall = time.perf_counter() - t0
        status = control.status()
        frames = status["counters"].get("frames", 0) - before
    ms = np.array(lat) * 1000.0
    return {"characters": characters, "fps": fps, "seconds": seconds, "steps": len(steps),
            "steps_expected": len(expected) * characters, "all_steps_right": complete,
            "latency_p50_ms": float(np.percentile(ms, 50)), "latency_p95_ms": float(np.percentile(ms, 95)),
            "latency_max_ms": float(ms.max()), "engine_p50_ms": float(np.percentile(engine, 50)),
            "engine_p95_ms": float(np.percentile(engine, 95)), "engine_max_ms": float(engine.max()),
            "sustained_frames": frames, "sustained_s": wall,
            "sustained_msgs_per_s": frames / wall,
            "rate_limited": status["counters"].get("invalid.rate_limited", 0)}


# ------------------------------------------------------------------------------------------------- fuzz


def _random_json(rng: random.Random, depth: int = 0):
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**31, 2**63, -(2**64), rng.randint(-10**9, 10**9)])
    if kind == 3:
        return rng.choice([0.5, -1e308, 1e308, 1e-320, rng.uniform(-1e3, 1e3)])
    if kind == 4:
        return "".join(chr(rng.randrange(0, 0x2FF)) for _ in range(rng.randrange(0, 12)))
    if kind in (5, 6):
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(0, 5))]
    return {rng.choice(["v", "type", "character", "t_ns", "joints", "bones", "x", "screen"]): _random_json(rng,
            depth + 1) for _ in range(rng.randrange(0, 5))}


def hostile_messages(rng: random.Random, count: int, max_bytes: int):
    """`count` messages, each a list of frames (a multipart message), none of them valid for the walking character."""
    frame_doc = {"v": 1, "type": "frame", "character": "fuzz0", "t_ns": 0,
                 "joints": [[0, 1, 0], [0.1, 0.08, 0], [0.1, 0.03, 0.15], [-0.1, 0.08, 0], [-0.1, 0.03, 0.15]]}
    for n in range(count):
        kind = n % 12
        if kind == 0:
            yield [bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))]
        elif kind == 1:
            yield [json.dumps(_random_json(rng)).encode()]
        elif kind == 2:  # a valid frame with one field broken
            doc = dict(frame_doc, character=f"fuzz{rng.randrange(100)}", t_ns=rng.randrange(10**12))
            key = rng.choice(list(doc))
            if rng.random() < 0.5:
                del doc[key]
            else:
                doc[key] = _random_json(rng)
            yield [json.dumps(doc).encode()]
        elif kind == 3:  # bytes of a valid frame, damaged
            data = bytearray(json.dumps(frame_doc).encode())
            for _ in range(rng.randrange(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            yield [bytes(data[: rng.randrange(1, len(data) + 1)])]
        elif kind == 4:
            yield [b"[" * rng.choice([100, 10_000, 100_000])]
        elif kind == 5:
            yield [b'{"v": 1, "type": "frame", "t_ns": ' + b"9" * rng.choice([30, 5000]) + b"}"]
        elif kind == 6:
            yield [b" " * (max_bytes + rng.randrange(1, 1000))]
        elif kind == 7:  # describing ever more characters (the limit refuses them)
            bones = BONES if rng.random() < 0.5 else [f"bone{k}" for k in range(rng.randrange(1, 600))]
            yield [json.dumps({"v": 1, "type": "skeleton", "character": f"fuzz{rng.randrange(1000)}",
                               "bones": bones}).encode()]
        elif kind == 8:
            yield [b"\x80\x04\x95" + bytes(rng.randrange(256) for _ in range(40))]  # a pickle is just bytes here
        elif kind == 9:
            yield [b"topic", b"{}", b"third part"]
        elif kind == 10:  # a burst for one fuzz character (the rate limit refuses the excess)
            yield [json.dumps(dict(frame_doc, character="fuzz1", t_ns=n)).encode()]
        else:
            yield [json.dumps({"v": 1, "type": rng.choice(["frame", "skeleton", "walk"]),
                               "character": "walker"}).encode()]  # the walker's name with nothing valid


def fuzz(messages: int = 100_000, seed: int = 0, fps: int = 60) -> dict:
    rng = random.Random(seed)
    max_bytes = 65_536
    limits = {"max_message_bytes": max_bytes, "max_characters": 64}  # the defaults, stated
    with Service(free_base_port(), {"limits": limits, "serve": {"send_hwm": 1_000}}) as service, \
            connected(service) as (control, listener, sender):
        sender.describe("walker", BONES)
        feet = walking_feet(fps, 20.0)
        frame = sent = 0
        while control.status()["audio_frames"] == 0:  # running: the walker's first steps played (kernels loaded)
            sender.frame("walker", frame_time_ns(frame, fps), joints(feet[frame]))
            frame += 1
            time.sleep(1 / fps)
        time.sleep(0.5)
        rss_start = service.rss_kib()
        every = max(1, messages // (feet.shape[0] - frame))
        warmup = messages // 10
        rss_warm = 0
        t0 = time.perf_counter()
        for parts in hostile_messages(rng, messages, max_bytes):
            sender.send_raw(*parts)
            sent += 1
            if sent == warmup:  # the first tenth has reached every buffer's working size
                while control.status()["counters"].get("received", 0) < warmup + frame + 1:
                    time.sleep(0.01)
                rss_warm = service.rss_kib()
            if sent % every == 0 and frame < feet.shape[0]:
                sender.frame("walker", frame_time_ns(frame, fps), joints(feet[frame]))
                frame += 1
        while frame < feet.shape[0]:
            sender.frame("walker", frame_time_ns(frame, fps), joints(feet[frame]))
            frame += 1
        sender.end("walker")
        listener.wait_ended({"walker"}, 120)
        wall = time.perf_counter() - t0
        status = control.status()
        rss_end = service.rss_kib()
        alive = service.process.poll() is None
    c = status["counters"]
    total = messages + 1 + feet.shape[0] + 1  # the fuzz, the walker's skeleton, frames and end
    reasons = {k[len("invalid."):]: v for k, v in c.items() if k.startswith("invalid.")}
    got = [(d["t_ns"], d["foot"]) for _, d in listener.steps if d["character"] == "walker"]
    expected = offline_steps(feet, fps)
    return {"messages": messages, "walker_frames": int(feet.shape[0]), "wall_s": wall, "alive": alive,
            "received": c.get("received", 0), "expected_received": total,
            "accounted": c.get("received", 0) == total == c.get("frames", 0) + c.get("skeletons", 0)
            + c.get("ends", 0) + c.get("invalid", 0),
            "invalid": c.get("invalid", 0), "reasons": reasons, "status_messages_seen": listener.status_messages,
            "walker_steps": len(got), "walker_steps_expected": len(expected), "walker_steps_right": got == expected,
            "rss_start_kib": rss_start, "rss_after_first_tenth_kib": rss_warm, "rss_end_kib": rss_end,
            "rss_change": rss_end / rss_start - 1.0, "rss_change_after_first_tenth": rss_end / rss_warm - 1.0}
