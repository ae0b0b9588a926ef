"""Step, scene and status messages on a ZeroMQ PUB socket (topics `step`, `scene`, `status`).

Serves as the graph's events sink (write/close, and forward for the other messages in order) and takes status
messages from the intake thread. A PUB socket never blocks: a subscriber that does not keep up loses messages at its
high-water mark and the engine never waits for it. The socket is used under a lock, so both threads may publish.
"""
from __future__ import annotations

import threading
from typing import Callable

import zmq

from footfall.engine.messages import CharacterEnd, SceneChange, StepEvent
from footfall.engine.serve.protocol import encode


class ZmqEventPublisher:
    def __init__(self, socket: zmq.Socket, name_of: Callable[[int], str]) -> None:
        self._socket = socket
        self._name_of = name_of
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
        self.publish("step", {"character": self._name_of(event.track_id), **event.to_dict()})

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
