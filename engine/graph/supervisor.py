"""Runs stages on threads and applies the one error policy: the first failure cancels everything.

A stage is a named function that reads its input channels and writes its output channels; when it returns it closes
its outputs so downstream stages drain and finish (end of stream). If any stage raises, every channel is cancelled,
all stages unwind, and `run` raises StageFailed naming the stage and the problem: a failing stage ends the run with a
clear message instead of a hang. Ctrl-C in the main thread cancels the same way and re-raises KeyboardInterrupt.
Stages clean up in `finally` (sinks finalise their files there), so cancelled outputs stay valid.
"""
from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field
from typing import Callable, Sequence

from footfall.engine.graph.channel import Cancelled, Channel


class StageFailed(RuntimeError):
    """A stage raised; the message is the stage's own one-line description of the problem."""

    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(str(error) or type(error).__name__)
        self.stage = stage
        self.error = error


@dataclass
class Stage:
    name: str
    body: Callable[[threading.Event], None]
    outputs: Sequence[Channel] = field(default_factory=tuple)


class Supervisor:
    def __init__(self, cancel_event: threading.Event | None = None) -> None:
        """`cancel_event`: set when the graph is cancelled; a source that waits on something other than a channel
        (a socket) watches it to stop."""
        self._stages: list[Stage] = []
        self._channels: list[Channel] = []
        self._failure: StageFailed | None = None
        self._lock = threading.Lock()
        self.cancel_event = threading.Event() if cancel_event is None else cancel_event

    def channel(self, name: str, capacity: int, policy: str = "block", keep: Callable | None = None) -> Channel:
        ch: Channel = Channel(name, capacity, policy, keep)  # type: ignore[arg-type]
        self._channels.append(ch)
        return ch

    def add(self, name: str, body: Callable[[threading.Event], None], outputs: Sequence[Channel] = ()) -> None:
        """`body(cancel_event)` runs on its own thread; its outputs are closed when it returns."""
        self._stages.append(Stage(name, body, tuple(outputs)))

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(self._channels)

    def cancel(self) -> None:
        self.cancel_event.set()
        for ch in self._channels:
            ch.cancel()

    def _fail(self, stage: str, error: BaseException) -> None:
        with self._lock:
            if self._failure is None and not self.cancel_event.is_set():
                self._failure = StageFailed(stage, error)
                self._failure.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
        self.cancel()

    def _run_stage(self, stage: Stage) -> None:
        try:
            stage.body(self.cancel_event)
        except Cancelled:
            pass
        except BaseException as exc:  # noqa: BLE001 - one policy for every failure
            self._fail(stage.name, exc)
        finally:
            for ch in stage.outputs:
                ch.close()

    def run(self, poll_s: float = 0.1, on_poll: Callable[[], None] | None = None) -> None:
        """Start every stage and wait for all; raise StageFailed on the first failure.

        `on_poll` runs on the calling thread every `poll_s` (progress display)."""
        threads = [threading.Thread(target=self._run_stage, args=(s,), name=f"footfall-{s.name}", daemon=True)
                   for s in self._stages]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(poll_s)
                    if on_poll is not None:
                        on_poll()
        except KeyboardInterrupt:
            self.cancel()
            for t in threads:
                t.join()
            raise
        if self._failure is not None:
            raise self._failure
