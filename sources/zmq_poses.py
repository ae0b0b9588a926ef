"""A stream from ZeroMQ: pose messages (or pictures) on a PULL (or SUB) socket and control requests on a REP socket.

One thread owns both sockets and polls them together, so control is answered while poses or pictures flow and while
none do. Every message is handed to the intake (PoseIntake, or FrameIntake for `serve --frames`); one it refuses is
answered on the status topic with its reason and dropped, and the loop goes on. The stream ends (EndOfStream) on a
shutdown request, when `stop` is set (Ctrl-C) or when the graph is cancelled.
"""
from __future__ import annotations

import threading
import time
from typing import Iterator, Protocol

import zmq

from footfall.engine.messages import EndOfStream, SkeletonSample
from footfall.engine.serve.control import ControlHandler
from footfall.engine.serve.protocol import ProtocolError
from footfall.sinks.zmq_events import ZmqEventPublisher

BATCH = 256  # pose messages taken per poll before control is looked at again


class Intake(Protocol):
    """What the loop feeds: PoseIntake or FrameIntake."""

    counters: dict
    newest_ns: int

    def take(self, parts: list[bytes], now_s: float): ...


def intake_items(inp: zmq.Socket, control: zmq.Socket, intake: Intake, handler: ControlHandler,
                 publisher: ZmqEventPublisher, stop: threading.Event, cancel: threading.Event,
                 poll_ms: int = 50, batch_size: int = BATCH) -> Iterator:
    """The graph items the messages on `inp` make, `batch_size` messages at most between looks at control (pictures
    take one: each is decoded, and the video edge keeps only the newest anyway)."""
    poller = zmq.Poller()
    poller.register(inp, zmq.POLLIN)
    poller.register(control, zmq.POLLIN)
    while not stop.is_set() and not cancel.is_set():
        ready = dict(poller.poll(poll_ms))
        if control in ready:
            request = control.recv_multipart(zmq.NOBLOCK)
            reply = handler.handle(request[-1])
            control.send(reply.data)
            yield from reply.items
            if reply.stop:
                break
        if inp in ready:
            batch: list = []
            for _ in range(batch_size):
                try:
                    parts = inp.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                try:
                    item = intake.take(parts, time.monotonic())
                except ProtocolError as exc:
                    publisher.status({"kind": "invalid", "reason": exc.reason, "error": str(exc)[:300],
                                      "invalid": intake.counters["invalid"]})
                    continue
                if item is not None:
                    batch.append(item)
            yield from merged(batch)
    yield EndOfStream(intake.newest_ns)


def merged(items: list) -> Iterator:
    """Consecutive SkeletonSamples of the same media time as one (a game sends all its characters for a frame):
    one trip through the graph and one watermark for them all. Nothing waits for this; it only takes what has
    already arrived."""
    pending: SkeletonSample | None = None
    for item in items:
        if isinstance(item, SkeletonSample) and pending is not None and item.t_ns == pending.t_ns:
            pending = SkeletonSample(pending.t_ns, pending.characters + item.characters)
            continue
        if pending is not None:
            yield pending
            pending = None
        if isinstance(item, SkeletonSample):
            pending = item
        else:
            yield item
    if pending is not None:
        yield pending
