"""A pose stream from ZeroMQ: skeleton messages on a PULL (or SUB) socket and control requests on a REP socket.

One thread owns both sockets and polls them together, so control is answered while poses flow and while none do.
Every pose message is handed to the intake; one it refuses is answered on the status topic with its reason and
dropped, and the loop goes on. The stream ends (EndOfStream) on a shutdown request, when `stop` is set (Ctrl-C) or
when the graph is cancelled.
"""
from __future__ import annotations

import threading
import time
from typing import Iterator

import zmq

from footfall.engine.messages import EndOfStream, SkeletonSample
from footfall.engine.serve.control import ControlHandler
from footfall.engine.serve.intake import PoseIntake
from footfall.engine.serve.protocol import ProtocolError
from footfall.sinks.zmq_events import ZmqEventPublisher

BATCH = 256  # pose messages taken per poll before control is looked at again


def pose_items(poses: zmq.Socket, control: zmq.Socket, intake: PoseIntake, handler: ControlHandler,
               publisher: ZmqEventPublisher, stop: threading.Event, cancel: threading.Event,
               poll_ms: int = 50) -> Iterator:
    poller = zmq.Poller()
    poller.register(poses, zmq.POLLIN)
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
        if poses in ready:
            batch: list = []
            for _ in range(BATCH):
                try:
                    parts = poses.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                try:
                    if len(parts) > 2:
                        raise intake.refuse("bad_parts", f"{len(parts)} message parts (send one: the JSON)")
                    item = intake.accept(parts[-1], time.monotonic())  # a SUB topic frame may come first
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
