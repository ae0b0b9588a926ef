"""The preallocated ring between the mixer thread and the sound card's callback, and the one copy the callback makes.

Why: the callback runs on the audio thread and must not allocate, wait on a lock or build Python objects; it calls
one numba kernel that copies what the mixer has written (zero-filling and counting a shortfall) and, when recording,
copies what it played into a second ring that a recorder thread drains. Both rings are single-producer,
single-consumer: each counter in `counters` has one writer, and counters only grow (absolute sample frames, so the
ring's read position is the mixer's sample clock as it is heard).
"""
from __future__ import annotations

import numba
import numpy as np

READ, WRITE, UNDERRUNS, UNDERRUN_FRAMES, REC_WRITE, REC_READ, REC_LOST, CALLBACKS = range(8)
COUNTERS = 8


@numba.njit(cache=True, nogil=True)
def _play_kernel(ring: np.ndarray, counters: np.ndarray, out: np.ndarray, rec: np.ndarray, record: bool) -> int:
    """Copies up to len(out) frames from `ring` at the read counter into `out`, zero-fills the rest (an underrun,
    counted), appends `out` to `rec` when recording. Returns the frames taken from the ring."""
    cap = ring.shape[0]
    frames = out.shape[0]
    channels = out.shape[1]
    read = counters[READ]
    got = min(counters[WRITE] - read, frames)
    got = max(got, 0)
    for i in range(got):
        src = (read + i) % cap
        for c in range(channels):
            out[i, c] = ring[src, c]
    for i in range(got, frames):
        for c in range(channels):
            out[i, c] = 0.0
    counters[READ] = read + got
    if got < frames:
        counters[UNDERRUNS] += 1
        counters[UNDERRUN_FRAMES] += frames - got
    if record:
        rcap = rec.shape[0]
        w = counters[REC_WRITE]
        if w + frames - counters[REC_READ] > rcap:
            counters[REC_LOST] += frames  # the recorder fell a whole ring behind: never block the audio thread
        else:
            for i in range(frames):
                dst = (w + i) % rcap
                for c in range(channels):
                    rec[dst, c] = out[i, c]
            counters[REC_WRITE] = w + frames
    counters[CALLBACKS] += 1
    return got


def play_reference(ring: np.ndarray, counters: np.ndarray, out: np.ndarray, rec: np.ndarray, record: bool) -> int:
    """The same copy in plain NumPy (the kernel's test reference)."""
    cap, frames = ring.shape[0], out.shape[0]
    read = int(counters[READ])
    got = max(0, min(int(counters[WRITE]) - read, frames))
    idx = (read + np.arange(got)) % cap
    out[:got] = ring[idx]
    out[got:] = 0.0
    counters[READ] = read + got
    if got < frames:
        counters[UNDERRUNS] += 1
        counters[UNDERRUN_FRAMES] += frames - got
    if record:
        w = int(counters[REC_WRITE])
        if w + frames - int(counters[REC_READ]) > rec.shape[0]:
            counters[REC_LOST] += frames
        else:
            rec[(w + np.arange(frames)) % rec.shape[0]] = out
            counters[REC_WRITE] = w + frames
    counters[CALLBACKS] += 1
    return got


class OutputRing:
    """`capacity` frames of float32 audio the mixer writes ahead of the callback, and `record_capacity` frames of
    what was played (0: no recording)."""

    def __init__(self, capacity: int, channels: int, record_capacity: int = 0) -> None:
        if capacity < 1 or channels < 1 or record_capacity < 0:
            raise ValueError("ring capacity and channels must be at least 1, record capacity at least 0")
        self.audio = np.zeros((capacity, channels), np.float32)
        self.played = np.zeros((max(record_capacity, 1), channels), np.float32)
        self.record = record_capacity > 0
        self.counters = np.zeros(COUNTERS, np.int64)

    @property
    def capacity(self) -> int:
        return self.audio.shape[0]

    @property
    def read(self) -> int:
        return int(self.counters[READ])

    @property
    def write(self) -> int:
        return int(self.counters[WRITE])

    @property
    def fill(self) -> int:
        """Frames written and not yet played."""
        return int(self.counters[WRITE] - self.counters[READ])

    def play(self, out: np.ndarray) -> int:
        """The callback's copy (see `_play_kernel`); `out` is the device's float32 (frames, channels) buffer."""
        return int(_play_kernel(self.audio, self.counters, out, self.played, self.record))

    def writable(self) -> np.ndarray:
        """The contiguous free region at the write position (up to the ring's end), for the mixer to render into;
        `commit(n)` then publishes n frames of it."""
        cap = self.capacity
        w = int(self.counters[WRITE])
        free = cap - (w - int(self.counters[READ]))
        start = w % cap
        return self.audio[start:start + min(free, cap - start)]

    def commit(self, frames: int) -> None:
        self.counters[WRITE] += frames

    def take_played(self) -> np.ndarray | None:
        """A copy of what was played since the last call (the recorder's side), or None if nothing new."""
        r, w = int(self.counters[REC_READ]), int(self.counters[REC_WRITE])
        if w == r:
            return None
        cap = self.played.shape[0]
        idx = (r + np.arange(w - r)) % cap
        block = self.played[idx]
        self.counters[REC_READ] = w
        return block
