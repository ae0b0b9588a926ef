"""A small Python client for `footfall serve`: send a character's skeleton and frames, control it, read its steps.

    with FootfallClient() as client:
        client.wait_connected()
        client.describe("hero", bone_names)            # once per character (Live Link's skeleton description)
        client.frame("hero", t_ns, positions)          # per frame: world positions in the description's order
        for topic, message in client.messages(timeout_s=0.1): ...

A service started with `--frames` takes pictures instead: `client.send_frame(t_ns, jpeg_bytes)` or
`client.send_frame(t_ns, rgb_array)` (H x W x 3 uint8, sent raw).
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import zmq

from footfall.engine.serve import security
from footfall.engine.serve.protocol import VERSION
from footfall.sources.pictures import jpeg_size


class ClientError(RuntimeError):
    """The service did not answer, or refused a request; the message says which endpoint and why."""


@dataclass(frozen=True)
class Endpoints:
    poses: str = "tcp://127.0.0.1:5555"
    events: str = "tcp://127.0.0.1:5556"
    control: str = "tcp://127.0.0.1:5557"
    frames: str = "tcp://127.0.0.1:5559"  # only a service started with --frames binds it

    @classmethod
    def from_address(cls, address: str) -> "Endpoints":
        """tcp://HOST[:PORT]: poses at PORT (default 5555), events at PORT+1, control at PORT+2, frames at PORT+4,
        as serve lays them out by default."""
        if not address.startswith("tcp://"):
            raise ValueError(f"{address}: --connect takes tcp://HOST[:PORT] (give ipc:// endpoints one by one)")
        rest = address[len("tcp://"):]
        if rest.startswith("["):  # [::1]:5555
            host, _, port = rest.partition("]")
            host, port = host + "]", port.lstrip(":")
        elif rest.count(":") == 1:
            host, port = rest.split(":")
        else:
            host, port = rest, ""
        if not port.isdigit() and port:
            raise ValueError(f"{address}: the port must be a number")
        base = int(port) if port else 5555
        return cls(f"tcp://{host}:{base}", f"tcp://{host}:{base + 1}", f"tcp://{host}:{base + 2}",
                   f"tcp://{host}:{base + 4}")


@dataclass(frozen=True)
class ClientCurve:
    """CURVE for a client: its key pair and the service's public key (files made by `footfall keys`)."""

    secret_file: str
    server_public_file: str


class FootfallClient:
    def __init__(self, endpoints: Endpoints = Endpoints(), curve: ClientCurve | None = None,
                 topics: Sequence[str] = ("step", "scene", "status"), send_hwm: int = 10_000) -> None:
        self.endpoints = endpoints
        self._ctx = zmq.Context()
        self._curve = None
        if curve is not None:
            self._curve = (security.load_secret(curve.secret_file), security.load_public(curve.server_public_file))
        self._push = self._socket(zmq.PUSH, endpoints.poses)
        self._push.sndhwm = send_hwm
        self._sub = self._socket(zmq.SUB, endpoints.events)
        for topic in topics:
            self._sub.setsockopt(zmq.SUBSCRIBE, topic.encode())
        self._req = self._socket(zmq.REQ, endpoints.control)
        self._frames: zmq.Socket | None = None  # connected on the first send_frame

    def _socket(self, kind: int, endpoint: str) -> zmq.Socket:
        s = self._ctx.socket(kind)
        s.linger = 0
        if self._curve is not None:
            security.make_client(s, *self._curve)
        s.connect(endpoint)
        return s

    # -------------------------------------------------------------------------------------------- poses

    def send(self, doc: dict) -> None:
        """Any pose message (blocks while the service's queue is full: its back-pressure)."""
        self._push.send(json.dumps({"v": VERSION, **doc}, separators=(",", ":")).encode())

    def send_raw(self, *parts: bytes) -> None:
        """Bytes as they are, one message of these parts (tests and the fuzzing benchmark send bad ones)."""
        self._push.send_multipart(list(parts))

    def describe(self, character: str, bones: Sequence[str], scheme: str | None = None, up: str = "y",
                 units_m: float = 1.0) -> None:
        doc = {"type": "skeleton", "character": character, "bones": list(bones), "up": up, "units_m": units_m}
        if scheme is not None:
            doc["scheme"] = scheme
        self.send(doc)

    def frame(self, character: str, t_ns: int, joints: np.ndarray | Sequence, ground: float | None = None,
              screen: dict | None = None) -> None:
        positions = np.round(np.asarray(joints, dtype=np.float64), 5).tolist()
        doc = {"type": "frame", "character": character, "t_ns": int(t_ns), "joints": positions}
        if ground is not None:
            doc["ground"] = ground
        if screen is not None:
            doc["screen"] = screen
        self.send(doc)

    def end(self, character: str) -> None:
        self.send({"type": "end", "character": character})

    def send_frame(self, t_ns: int, picture: bytes | np.ndarray) -> None:
        """A picture for a service started with `--frames`, at media time `t_ns`: JPEG bytes (its size read from
        them), or an (H, W, 3) uint8 RGB array, sent raw as rgb24. Blocks while the service's queue is full."""
        if isinstance(picture, np.ndarray):
            if picture.ndim != 3 or picture.shape[2] != 3 or picture.dtype != np.uint8:
                raise ValueError(f"a raw picture must be (H, W, 3) uint8, got {picture.shape} {picture.dtype}")
            height, width = picture.shape[:2]
            fmt, payload = "rgb24", np.ascontiguousarray(picture).data
        else:
            size = jpeg_size(picture)
            if size is None:
                raise ValueError("picture bytes must be a JPEG (or pass an RGB array)")
            (width, height), fmt, payload = size, "jpeg", picture
        if self._frames is None:
            self._frames = self._socket(zmq.PUSH, self.endpoints.frames)
        header = {"v": VERSION, "type": "frame", "t_ns": int(t_ns), "format": fmt, "width": int(width),
                  "height": int(height)}
        self._frames.send_multipart([json.dumps(header, separators=(",", ":")).encode(), payload])

    # -------------------------------------------------------------------------------------------- control

    def request(self, doc: dict, timeout_s: float = 3.0) -> dict:
        """One control request and its reply. On a timeout the REQ socket is remade (so the client recovers when
        the service restarts) and ClientError is raised."""
        self._req.send(json.dumps({"v": VERSION, **doc}).encode())
        if not self._req.poll(int(timeout_s * 1000)):
            self._req.close(0)
            self._req = self._socket(zmq.REQ, self.endpoints.control)
            raise ClientError(f"{self.endpoints.control}: no answer from footfall serve within {timeout_s:g} s")
        reply = json.loads(self._req.recv())
        if not reply.get("ok"):
            raise ClientError(f"{self.endpoints.control}: {reply.get('error', 'refused')}")
        return reply

    def status(self, timeout_s: float = 3.0) -> dict:
        return self.request({"cmd": "status"}, timeout_s)

    def set(self, character: str | None = None, **settings) -> dict:
        """surface=, footwear=, gain_db=, bank= for one character (or everyone)."""
        doc = {"cmd": "set", **{k: v for k, v in settings.items() if v is not None}}
        if character is not None:
            doc["character"] = character
        return self.request(doc)

    def shutdown(self) -> dict:
        return self.request({"cmd": "shutdown"})

    def wait_connected(self, timeout_s: float = 5.0) -> None:
        """Until the events subscription is live (PUB drops what is sent before it is): echo requests until one
        comes back on the status topic."""
        deadline = time.monotonic() + timeout_s
        token = uuid.uuid4().hex[:16]
        while time.monotonic() < deadline:
            self.request({"cmd": "echo", "token": token}, max(deadline - time.monotonic(), 0.1))
            for topic, doc in self.messages(timeout_s=0.1):
                if topic == "status" and doc.get("kind") == "echo" and doc.get("token") == token:
                    return
        raise ClientError(f"{self.endpoints.events}: no events from footfall serve within {timeout_s:g} s")

    # -------------------------------------------------------------------------------------------- events

    def messages(self, timeout_s: float = 0.0) -> Iterator[tuple[str, dict]]:
        """The events that have arrived, waiting up to `timeout_s` for the first."""
        wait = int(timeout_s * 1000)
        while self._sub.poll(wait):
            topic, body = self._sub.recv_multipart()[:2]
            yield topic.decode(), json.loads(body)
            wait = 0

    def close(self) -> None:
        self._ctx.destroy(linger=0)

    def __enter__(self) -> "FootfallClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
