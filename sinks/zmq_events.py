"""Step, scene and status messages on a ZeroMQ PUB socket (topics `step`, `scene`, `status`).

Steps are published the moment they are detected (`step`, called on the steps stage's thread); as the graph's events
sink it then forwards, in order, what must follow them (a character's end, scene changes), and it takes status
messages from the intake thread. A PUB socket never blocks: a subscriber that does not keep up loses messages at its
high-water mark and the engine never waits for it. The socket is used under a lock, so both threads may publish.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

import numpy as np
import zmq

from footfall.engine.messages import CharacterEnd, SceneChange, StepEvent
from footfall.engine.serve.protocol import encode


class ZmqEventPublisher:
    def __init__(self, socket: zmq.Socket, name_of: Callable[[int], str],
                 arrival_ns: Callable[[int, int], int | None] | None = None) -> None:
        """`arrival_ns(track_id, t_ns)`: when the frame that made a step arrived (time.monotonic_ns), so each step
        message carries `engine_ms`, the time it spent in the engine (the detector's own delay is not in it)."""
        self._socket = socket
        self._name_of = name_of
        self._arrival_ns = arrival_ns
        self.engine_ms: deque[float] = deque(maxlen=10_000)
        self._lock = threading.Lock()
        self.published = {"step": 0, "scene": 0, "status": 0}
        self.dropped = 0

    def publish(self, topic: str, doc: dict) -> None:
        with self._lock:
            try:
                self._socket.send_multipart([topic.encode(), encode(doc)], flags=zmq.NOBLOCK)
                self.published[topic] += 1
            except zmq.Again:
                self.dropped += 1

    def write(self, event: StepEvent) -> None:
        """As the graph's events sink: steps were already published by `step` as they were detected; this path
        carries what must follow them in order (forward)."""

    def step(self, event: StepEvent) -> None:
        """Publishes a step at once (the graph calls it on the steps stage's thread)."""
        doc = {"character": self._name_of(event.track_id), **event.to_dict()}
        arrived = None if self._arrival_ns is None else self._arrival_ns(event.track_id, event.t_ns + event.delay_ns)
        if arrived is not None:
            doc["engine_ms"] = round((time.monotonic_ns() - arrived) / 1e6, 3)
            self.engine_ms.append(doc["engine_ms"])
        self.publish("step", doc)

    def latency(self) -> dict:
        """Engine latency of the recent steps: frame in to step published, ms."""
        if not self.engine_ms:
            return {"steps": 0}
        ms = np.fromiter(self.engine_ms, float)
        return {"steps": int(ms.size), "p50_ms": float(np.percentile(ms, 50)), "p95_ms": float(np.percentile(ms, 95)),
                "max_ms": float(ms.max())}

    def forward(self, item: object) -> None:
        if isinstance(item, CharacterEnd):
            self.publish("status", {"kind": "end", "character": item.name, "t_ns": item.t_ns})
        elif isinstance(item, SceneChange):
            self.publish("scene", {"t_ns": item.t_ns, "character": None if item.track_id is None
                                   else self._name_of(item.track_id), "surface": item.surface,
                                   "footwear": item.footwear, "gain_db": item.gain_db})

    def status(self, doc: dict) -> None:
        self.publish("status", doc)

    def close(self, summary: dict | None = None) -> None:
        self.publish("status", {"kind": "stopped", **(summary or {})})
