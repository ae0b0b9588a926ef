"""Outputs written under a temporary name beside their final one and renamed into place only when the run succeeds.

A render that fails, is cancelled or runs out of disk therefore never destroys a file that was already at the output
path: what it wrote stays, valid as far as it got, under the partial name (`walk.partial.mp4` for `walk.mp4`; the
suffix is kept, since it chooses the format), and the error message names it. The rename is atomic: the partial file
lies in the same folder.
"""
from __future__ import annotations

import os
from pathlib import Path

from footfall.sinks.errors import SinkError, describe

PARTIAL_TAG = "partial"


def partial_path(final: Path) -> Path:
    """Where a run writes `final` until it succeeds."""
    final = Path(final)
    return final.with_name(f"{final.stem}.{PARTIAL_TAG}{final.suffix}")


class StagedOutputs:
    """The partial paths of one run's outputs, committed together."""

    def __init__(self, finals: list[Path]) -> None:
        self.finals = [Path(f) for f in finals]
        seen = set()
        for final in self.finals:
            key = final.resolve()
            if key in seen:
                raise SinkError(final, "is named twice as an output")
            seen.add(key)
        self._committed = False

    def path(self, final: Path) -> Path:
        if Path(final) not in self.finals:
            raise ValueError(f"{final} is not one of this run's outputs")
        return partial_path(final)

    def final_of(self, path: Path) -> Path:
        """The final name behind a partial path (any other path as it is)."""
        for final in self.finals:
            if partial_path(final) == Path(path):
                return final
        return Path(path)

    def commit(self) -> None:
        """Every partial file renamed to its final name (replacing what was there)."""
        for final in self.finals:
            try:
                os.replace(partial_path(final), final)
            except OSError as exc:
                raise SinkError(final, f"cannot move the finished {partial_path(final).name} into place: "
                                f"{describe(exc)}") from None
        self._committed = True

    def discard(self) -> None:
        """Removes the partial files of a run that wrote nothing worth keeping (it failed before rendering)."""
        for final in self.finals:
            partial_path(final).unlink(missing_ok=True)

    def kept(self) -> list[Path]:
        """The partial files left by a run that did not commit."""
        if self._committed:
            return []
        return [partial_path(f) for f in self.finals if partial_path(f).is_file()]

    def note(self) -> str:
        """'; what was written so far is in X, Y' for an error line, or '' when nothing was kept."""
        kept = self.kept()
        return f"; what was written so far is in {', '.join(str(p) for p in kept)}" if kept else ""
