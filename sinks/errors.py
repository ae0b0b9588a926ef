"""The one error type every sink raises, so the CLI can print one line and exit non-zero without a traceback."""
from __future__ import annotations

from pathlib import Path


class SinkError(RuntimeError):
    """An output could not be written. The message is one line: "<path>: <problem>"."""

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = " ".join(str(problem).split())
        super().__init__(f"{self.path}: {self.problem}")


def describe(exc: BaseException) -> str:
    """The human part of an OS or FFmpeg error, without the path it may repeat or an errno prefix."""
    strerror = getattr(exc, "strerror", None)
    if strerror:
        return str(strerror)
    return str(exc) or type(exc).__name__
