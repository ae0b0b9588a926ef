"""The in-memory footstep bank the mixer plays from: every sample in one contiguous mono float32 array.

One flat array with offsets keeps the mixer's numba kernels free of Python objects; the entries keep what each
sample is (surface, footwear, intensity, onset, provenance) for selection and for the on-disk manifest.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GAITS = ("walk", "run", "any")


@dataclass(frozen=True)
class BankEntry:
    """What one sample is. onset: sample frames from the file start to the heel transient. gait: the gait the step
    was made for ("walk": heel-to-toe roll, "run": one sharper strike, "any": either)."""

    id: str
    surface: str
    footwear: str
    intensity: float
    onset: int
    provenance: str
    variation: int = 0
    gait: str = "any"

    def __post_init__(self) -> None:
        if self.gait not in GAITS:
            raise ValueError(f"sample {self.id!r}: gait must be one of {', '.join(GAITS)}, not {self.gait!r}")


@dataclass(frozen=True, eq=False)
class Bank:
    """An immutable bank. audio[offsets[i] : offsets[i] + lengths[i]] is entry i."""

    sample_rate: int
    audio: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray
    onsets: np.ndarray
    entries: tuple[BankEntry, ...]
    name: str = "bank"

    def __post_init__(self) -> None:
        n = len(self.entries)
        if self.audio.dtype != np.float32 or self.audio.ndim != 1:
            raise ValueError("bank audio must be 1-D float32")
        for arr in (self.offsets, self.lengths, self.onsets):
            if arr.dtype != np.int64 or arr.shape != (n,):
                raise ValueError("bank offsets, lengths and onsets must be int64 arrays, one per entry")
        if n and int((self.offsets + self.lengths).max()) > self.audio.shape[0]:
            raise ValueError("bank entry runs past the end of the audio array")

    @classmethod
    def from_clips(cls, sample_rate: int, clips: list[np.ndarray], entries: list[BankEntry], name: str = "bank") -> "Bank":
        if len(clips) != len(entries):
            raise ValueError("one clip per entry")
        lengths = np.array([len(c) for c in clips], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64) if clips else np.zeros(0, np.int64)
        audio = np.concatenate([np.asarray(c, dtype=np.float32) for c in clips]) if clips else np.zeros(0, np.float32)
        onsets = np.array([e.onset for e in entries], dtype=np.int64)
        return cls(sample_rate, audio.astype(np.float32, copy=False), offsets, lengths, onsets, tuple(entries), name)

    def clip(self, i: int) -> np.ndarray:
        return self.audio[self.offsets[i] : self.offsets[i] + self.lengths[i]]

    @property
    def surfaces(self) -> tuple[str, ...]:
        return tuple(sorted({e.surface for e in self.entries}))

    @property
    def footwears(self) -> tuple[str, ...]:
        return tuple(sorted({e.footwear for e in self.entries}))

    def select(self, surface: str, footwear: str) -> np.ndarray:
        """Indices of entries for a surface and footwear, falling back to the surface alone, then to everything."""
        idx = [i for i, e in enumerate(self.entries) if e.surface == surface and e.footwear == footwear]
        if not idx:
            idx = [i for i, e in enumerate(self.entries) if e.surface == surface]
        if not idx:
            idx = list(range(len(self.entries)))
        return np.array(idx, dtype=np.int64)
