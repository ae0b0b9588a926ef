"""A one-line progress display: how far, and how fast as a multiple of real time."""
from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total_s: float, stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.total_s = max(total_s, 1e-9)
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self.done_s = 0.0
        self.steps = 0
        self._last_draw = 0.0

    def advance(self, done_s: float) -> None:
        self.done_s = max(self.done_s, done_s)

    @property
    def wall_s(self) -> float:
        return time.perf_counter() - self.start

    @property
    def speed(self) -> float:
        return self.done_s / max(self.wall_s, 1e-9)

    def draw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not self.enabled or (not force and now - self._last_draw < 0.2):
            return
        self._last_draw = now
        frac = min(1.0, self.done_s / self.total_s)
        bar = "#" * int(frac * 30)
        self.stream.write(f"\r[{bar:<30}] {frac * 100:5.1f}%  {self._figures()} ")
        self.stream.flush()

    def _figures(self) -> str:
        """What follows the bar: how far, how fast."""
        return f"{self.done_s:7.2f}/{self.total_s:.2f} s  {self.speed:5.2f}x real time  {self.steps} steps"

    def finish(self) -> None:
        if self.enabled:
            self.draw(force=True)
            self.stream.write("\n")
            self.stream.flush()


class CountProgress(Progress):
    """The same one-line bar over a count of work (training steps, clips) instead of media seconds, with a note
    (e.g. the latest loss) after it."""

    def __init__(self, total: int, unit: str = "steps", stream: TextIO | None = None,
                 enabled: bool | None = None) -> None:
        super().__init__(float(total), stream, enabled)
        self.unit = unit
        self.note = ""
        self._base = 0.0

    def restart(self, done: int) -> None:
        """Work starts now, `done` units in (a resumed run): the rate counts only what is done from here."""
        self.start = time.perf_counter()
        self.done_s = self._base = float(done)

    @property
    def speed(self) -> float:
        return (self.done_s - self._base) / max(self.wall_s, 1e-9)

    def _figures(self) -> str:
        return f"{int(self.done_s)}/{int(self.total_s)} {self.unit}  {self.speed:6.2f} {self.unit}/s  {self.note}"
