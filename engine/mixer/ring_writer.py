"""The mixer's side of the live output ring: render well ahead of the sound card, and splice each new sound in close
to the block that is playing.

Why: how far ahead the mixer writes is what it can stall for without the card playing silence, and on a busy or
virtual machine a thread can stall for tens of milliseconds; but a sound triggered into the end of what was written
would wait that long too. So the mixer saves its state at every block it writes, and a new step's sound takes the
render back to the first saved block the card has not reached (`splice_frames` ahead of it, so a callback that comes
meanwhile never reads a block being written again) and renders the audio from there again in place, with the new
voice in it: the same samples as before plus the new sound. The write counter never moves back, so the callback
never sees the ring shorter than it was.
"""
from __future__ import annotations

from typing import Callable

from footfall.engine.mixer.mixer import Mixer, MixerState
from footfall.sinks.output_ring import OutputRing


class RingWriter:
    """Renders `mixer` into `ring` a block at a time (`fill`), saving the mixer's state before each block, for the
    last `depth` blocks; `trigger` schedules a sound into audio already written. Mixer frames are ring frames."""

    def __init__(self, mixer: Mixer, ring: OutputRing, block: int, depth: int, splice_frames: int) -> None:
        if block < 1 or depth < 2 or splice_frames < 0:
            raise ValueError("block must be >= 1, depth >= 2 and splice_frames >= 0")
        if mixer.position != ring.write:
            raise ValueError(f"the mixer is at frame {mixer.position} and the ring's writer at {ring.write}")
        self.mixer, self.ring, self.block, self.splice_frames = mixer, ring, block, splice_frames
        self._states: list[MixerState] = [mixer.new_state() for _ in range(depth)]
        self._next = 0  # the state the next block saves into
        self.spliced = 0  # triggers that rendered written audio again
        self.late_splices = 0  # ... of which the card had read part before it was written again

    def fill(self, frames: int) -> None:
        """Renders until the ring holds `frames` unplayed frames (or is full)."""
        ring = self.ring
        while ring.fill < frames:
            n = min(self.block, frames - ring.fill, ring.writable().shape[0])
            if n <= 0:
                return
            self._render(ring.write, n)
            ring.commit(n)

    def trigger(self, schedule: Callable[[int], int], at: int) -> int:
        """Calls `schedule(at)` (which triggers one voice on the mixer and returns its first frame) with the render
        taken back as close to `at` as the card and the mixer allow, and renders the written audio again with the
        voice in it. Returns what `schedule` returned."""
        mixer, end = self.mixer, self.mixer.position
        state = self._restore_point(at - self.block)  # a block early: a sample's lead-in before its onset fits
        if state is None:
            return schedule(at)
        start = state.saved_at
        mixer.restore(state)
        for saved in self._states:  # what was saved from here on lacks the new voice: saved again as it renders
            if saved.saved_at >= start:
                saved.position[0] = -1
        first = schedule(at)
        pos = start
        cap = self.ring.capacity
        while pos < end:
            n = min(self.block, end - pos, cap - pos % cap)
            self._render(pos, n)
            pos += n
        self.spliced += 1
        if self.ring.read > start:
            self.late_splices += 1
        return first

    def _restore_point(self, at: int) -> MixerState | None:
        """The latest saved state at or before `at` (the earliest one if `at` comes before them all) among those the
        card has not reached within `splice_frames` and the mixer may go back to; None if there is none or `at` is
        not yet written."""
        if at >= self.mixer.position:
            return None
        lowest = max(self.ring.read + self.splice_frames, self.mixer.rewind_floor)
        best = first = None
        for state in self._states:
            saved = state.saved_at
            if saved < lowest or saved >= self.mixer.position:
                continue
            if saved <= at and (best is None or saved > best.saved_at):
                best = state
            if first is None or saved < first.saved_at:
                first = state
        return best if best is not None else first

    def _render(self, pos: int, n: int) -> None:
        mixer = self.mixer
        state = self._states[self._next]
        self._next = (self._next + 1) % len(self._states)
        mixer.save(state)
        start = pos % self.ring.capacity
        mixer.render_into(self.ring.audio[start:start + n])
