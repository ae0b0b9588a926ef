"""BVH motion capture: parse the hierarchy and motion, and compute joint world positions by forward kinematics.

Used by the evaluation to turn motion capture into ground truth (foot contacts) and into 2-D pose streams. Output is
always metres in a right-handed frame with Y up, whatever units and up axis the file used (both detected, or given).

Convention (as in the BVH format and its common exporters): a joint's rotation channels compose in the order listed,
R = R(c1) @ R(c2) @ R(c3), acting on column vectors, and a joint's position in its parent is its position channels
when it has them (they replace the OFFSET), else its OFFSET.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Joint:
    name: str
    parent: int  # index into Skeleton.joints, -1 for a root
    offset: tuple[float, float, float]
    channels: tuple[str, ...]  # e.g. ("Xposition", "Yposition", "Zposition", "Zrotation", "Xrotation", "Yrotation")
    channel_start: int  # column of the first channel in the motion table


@dataclass(frozen=True, eq=False)
class Motion:
    """A parsed BVH file: joints (end sites excluded), the motion table (frames, channels) and the frame time."""

    joints: tuple[Joint, ...]
    frames: np.ndarray
    frame_time_s: float

    @property
    def fps(self) -> float:
        """Frames per second, snapped to an integer when the file's rounded frame time is within 0.1% of one."""
        fps = 1.0 / self.frame_time_s
        return float(round(fps)) if abs(fps - round(fps)) < 1e-3 * fps else fps

    def index(self, name: str) -> int:
        for i, joint in enumerate(self.joints):
            if joint.name == name:
                return i
        raise KeyError(f"no joint named {name!r} (have: {', '.join(j.name for j in self.joints)})")


class BvhError(ValueError):
    """The file is not valid BVH; the message names the file and what was wrong."""


def parse_bvh(text: str, source: str = "<bvh>") -> Motion:
    tokens = text.split()
    pos = 0
    joints: list[Joint] = []
    n_channels = 0

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise BvhError(f"{source}: unexpected end of file")
        pos += 1
        return tokens[pos - 1]

    def expect(word: str) -> None:
        got = take()
        if got != word:
            raise BvhError(f"{source}: expected {word!r}, got {got!r}")

    def read_joint(name: str, parent: int) -> None:
        nonlocal n_channels
        expect("{")
        expect("OFFSET")
        offset = (float(take()), float(take()), float(take()))
        expect("CHANNELS")
        count = int(take())
        channels = tuple(take() for _ in range(count))
        index = len(joints)
        joints.append(Joint(name, parent, offset, channels, n_channels))
        n_channels += count
        while True:
            word = take()
            if word == "}":
                return
            if word == "JOINT":
                read_joint(take(), index)
            elif word == "End":
                expect("Site")
                expect("{")
                expect("OFFSET")
                take(), take(), take()
                expect("}")
            else:
                raise BvhError(f"{source}: unexpected {word!r} in joint {name!r}")

    expect("HIERARCHY")
    while tokens[pos] == "ROOT":
        pos += 1
        read_joint(take(), -1)
    expect("MOTION")
    expect("Frames:")
    n_frames = int(take())
    expect("Frame")
    expect("Time:")
    frame_time = float(take())
    values = np.array(tokens[pos:pos + n_frames * n_channels], dtype=np.float64)
    if values.size != n_frames * n_channels:
        raise BvhError(f"{source}: expected {n_frames} frames of {n_channels} channels, got {values.size} values")
    if frame_time <= 0:
        raise BvhError(f"{source}: frame time must be positive, got {frame_time}")
    return Motion(tuple(joints), values.reshape(n_frames, n_channels), frame_time)


def read_bvh(path: str | Path) -> Motion:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise BvhError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BvhError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    return parse_bvh(text, str(path))


def _axis_rotations(axis: str, degrees: np.ndarray) -> np.ndarray:
    """(frames, 3, 3) rotation matrices about one axis."""
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    one, zero = np.ones_like(a), np.zeros_like(a)
    if axis == "X":
        rows = [[one, zero, zero], [zero, c, -s], [zero, s, c]]
    elif axis == "Y":
        rows = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
    else:
        rows = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def forward_kinematics(motion: Motion) -> np.ndarray:
    """Joint world positions (frames, joints, 3) in the file's own units and axes."""
    n = motion.frames.shape[0]
    rotations = np.empty((len(motion.joints), n, 3, 3))
    positions = np.empty((n, len(motion.joints), 3))
    for j, joint in enumerate(motion.joints):
        local_t = np.tile(np.asarray(joint.offset, dtype=np.float64), (n, 1))
        local_r = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
        for k, channel in enumerate(joint.channels):
            column = motion.frames[:, joint.channel_start + k]
            axis, kind = channel[0].upper(), channel[1:].lower()
            if kind == "position":
                local_t[:, "XYZ".index(axis)] = column
            elif kind == "rotation":
                local_r = local_r @ _axis_rotations(axis, column)
            else:
                raise BvhError(f"joint {joint.name!r}: unknown channel {channel!r}")
        if joint.parent < 0:
            rotations[j] = local_r
            positions[:, j] = local_t
        else:
            parent_r = rotations[joint.parent]
            rotations[j] = parent_r @ local_r
            positions[:, j] = positions[:, joint.parent] + np.einsum("nij,nj->ni", parent_r, local_t)
    return positions


_UNIT_SCALES = {"m": 1.0, "cm": 0.01, "mm": 0.001, "in": 0.0254}


def detect_up_axis(positions: np.ndarray, motion: Motion) -> int:
    """The axis along which the head is farthest from the feet, on average (0, 1 or 2)."""
    names = [j.name.lower() for j in motion.joints]
    head = [i for i, n in enumerate(names) if "head" in n]
    feet = [i for i, n in enumerate(names) if "foot" in n or "toe" in n or "ankle" in n]
    if not head or not feet:
        return 1
    span = positions[:, head].mean(axis=(0, 1)) - positions[:, feet].mean(axis=(0, 1))
    return int(np.argmax(np.abs(span)))


def detect_units(height: float) -> str:
    """Units from a standing figure's head-to-foot height in file units (humans are about 1 to 2.2 m)."""
    for unit in ("m", "cm", "in", "mm"):
        if 0.5 <= height * _UNIT_SCALES[unit] <= 2.6:
            return unit
    raise BvhError(f"cannot tell the units of a figure {height:.3g} units tall; give them explicitly")


def world_positions(motion: Motion, units: str | None = None, up_axis: int | None = None) -> np.ndarray:
    """Joint world positions (frames, joints, 3) in metres, Y up, right-handed."""
    positions = forward_kinematics(motion)
    up = detect_up_axis(positions, motion) if up_axis is None else up_axis
    if up == 2:  # Z up -> Y up: (x, y, z) -> (x, z, -y)
        positions = np.stack([positions[..., 0], positions[..., 2], -positions[..., 1]], axis=-1)
    elif up == 0:  # X up -> Y up: (x, y, z) -> (-y, x, z)
        positions = np.stack([-positions[..., 1], positions[..., 0], positions[..., 2]], axis=-1)
    if units is None:
        heights = positions[..., 1].max(axis=1) - positions[..., 1].min(axis=1)
        units = detect_units(float(np.percentile(heights, 90)))  # frames where the figure stands
    return positions * _UNIT_SCALES[units]
