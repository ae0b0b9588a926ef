"""The messages that flow through the graph.

Media time is an integer number of nanoseconds everywhere (converted once, at the source); audio positions are
integer sample frames. Floats appear only in normalised screen coordinates and in estimates (intensity, confidence).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

NS_PER_S = 1_000_000_000

Foot = Literal["left", "right"]
Gait = Literal["walk", "run"]

# MediaPipe pose landmark indices used throughout (the 33-landmark layout).
NOSE = 0
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
LEFT_HIP, RIGHT_HIP = 23, 24
LEFT_KNEE, RIGHT_KNEE = 25, 26
LEFT_ANKLE, RIGHT_ANKLE = 27, 28
LEFT_HEEL, RIGHT_HEEL = 29, 30
LEFT_FOOT_INDEX, RIGHT_FOOT_INDEX = 31, 32
NUM_LANDMARKS = 33


@dataclass(frozen=True, eq=False)
class VideoFrame:
    """One decoded picture. `image` is RGB uint8 (H, W, 3), possibly downscaled for analysis. `arrival_ns`: when a
    live source received it, on the monotonic clock (`time.monotonic_ns()`); -1 for a file rendered offline."""

    index: int
    t_ns: int
    duration_ns: int
    width: int
    height: int
    image: np.ndarray
    arrival_ns: int = -1


@dataclass(frozen=True, eq=False)
class PersonPose:
    """One tracked person in one frame.

    `landmarks` is float32 (33, 4): x and y normalised to the frame (0..1, y down), z (MediaPipe's relative depth,
    same scale as x), visibility (0..1). `world` is float32 (33, 3) metres around the hips, or None.
    """

    track_id: int
    landmarks: np.ndarray
    world: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class PoseSample:
    """Every person found in one frame. An empty `persons` means nobody was seen."""

    frame_index: int
    t_ns: int
    width: int
    height: int
    persons: tuple[PersonPose, ...] = ()


@dataclass(frozen=True, eq=False)
class CharacterJoints:
    """One character's feet in one frame of a 3-D skeleton stream (a game, motion capture).

    `feet` is float64 (4, 3): ankle and toe (ball) joints of the left foot, then of the right, in metres, Y up.
    `ground_y`: the ground's height under the character when the sender knows it (None: learned). `screen`: where the
    character is on the picture, (x, y, depth) as in StepEvent, when the sender knows it (None: centre, depth 1).
    """

    track_id: int
    feet: np.ndarray
    ground_y: float | None = None
    screen: tuple[float, float, float] | None = None


@dataclass(frozen=True, eq=False)
class SkeletonSample:
    """Characters' joints at one media time (each message of a skeleton stream is one such sample)."""

    t_ns: int
    characters: tuple[CharacterJoints, ...] = ()


@dataclass(frozen=True)
class CharacterEnd:
    """A character's stream ended (its take is over); carried through the graph so its last steps come first."""

    t_ns: int
    track_id: int
    name: str = ""


@dataclass(frozen=True)
class StepEvent:
    """A foot landed.

    t_ns: media time of contact. x, y: normalised screen position of the foot. depth: distance proxy relative to a
    person filling the frame's reference height (1.0 = reference, larger = farther). intensity and confidence: 0..1.
    delay_ns: media time between contact and the frame at which the detector was sure. gait: "run" when this
    person's steps come at running cadence (the mixer then plays one sharper strike instead of a heel-to-toe roll).
    """

    t_ns: int
    track_id: int
    foot: Foot
    x: float
    y: float
    depth: float
    intensity: float
    confidence: float
    delay_ns: int
    gait: Gait = "walk"

    def to_dict(self) -> dict:
        return {
            "time_s": self.t_ns / NS_PER_S,
            "t_ns": self.t_ns,
            "track_id": self.track_id,
            "foot": self.foot,
            "x": round(self.x, 5),
            "y": round(self.y, 5),
            "depth": round(self.depth, 4),
            "intensity": round(self.intensity, 4),
            "confidence": round(self.confidence, 4),
            "delay_ms": self.delay_ns / 1e6,
            "gait": self.gait,
        }


@dataclass(frozen=True)
class Watermark:
    """No step event with contact time before `t_ns` is still to come: audio up to there may be rendered."""

    t_ns: int


@dataclass(frozen=True)
class SceneChange:
    """The scene's ground or footwear changed (from CLIP, a script or a user)."""

    t_ns: int
    surface: str
    footwear: str | None = None
    score: float = 1.0
    track_id: int | None = None  # one character's ground and footwear (None: everyone's)
    gain_db: float | None = None  # that character's (or everyone's) footstep level from then on


@dataclass(frozen=True, eq=False)
class BankChange:
    """Steps from `t_ns` on play from another bank (a control request); voices sounding finish from the old one."""

    t_ns: int
    bank: object = field(repr=False)  # a footfall.bank.sample_bank.Bank
    track_id: int | None = None  # one character's bank (None: everyone's, which ends every character's own)


@dataclass(frozen=True, eq=False)
class AudioBlock:
    """Rendered audio: float32 (n, channels) starting at absolute sample frame `start`."""

    start: int
    data: np.ndarray = field(repr=False)

    @property
    def end(self) -> int:
        return self.start + self.data.shape[0]


@dataclass(frozen=True)
class EndOfStream:
    """The source is exhausted; `t_ns` is the media duration (end of the last frame)."""

    t_ns: int


def ns_to_samples(t_ns: int, sample_rate: int) -> int:
    """Nearest sample frame to a media time (exact integer arithmetic, rounds half up)."""
    return (t_ns * sample_rate + NS_PER_S // 2) // NS_PER_S


def samples_to_ns(n: int, sample_rate: int) -> int:
    return (n * NS_PER_S + sample_rate // 2) // sample_rate
