"""Synthetic walks for the 3-D tests: feet trajectories with known landings, and BVH text in any naming scheme.

The BVH puts every joint straight under the root with its own position channels, so the file's forward kinematics
reproduce the designed world positions exactly (in centimetres, Y up).
"""
from __future__ import annotations

import numpy as np

from footfall.engine.skeletons import ALL_ROLES


def walk_feet(fps: float, seconds: float = 5.0, speed: float = 1.2, period: float = 1.0, stance: float = 0.6,
              lift: float = 0.12) -> np.ndarray:
    """(frames, 4, 3) ankle_l, toe_l, ankle_r, toe_r in metres, Y up, walking along +z: each foot rests flat for
    `stance` of its `period`, then swings to the next footprint in a smooth arc (landing at zero speed)."""
    t = np.arange(int(round(seconds * fps))) / fps
    stride = speed * period
    out = np.empty((t.size, 4, 3))
    for side, (x, phase) in enumerate(((0.1, 0.0), (-0.1, 0.5))):
        u = t / period + phase  # cycles; each cycle: stance [0, stance), swing [stance, 1)
        cycle, frac = np.floor(u), u - np.floor(u)
        swing = np.clip((frac - stance) / (1 - stance), 0.0, 1.0)
        ease = 0.5 - 0.5 * np.cos(np.pi * swing)
        z = (cycle + ease) * stride
        height = lift * np.sin(np.pi * swing)
        out[:, 2 * side] = np.stack([np.full_like(t, x), 0.08 + height, z], axis=1)
        out[:, 2 * side + 1] = np.stack([np.full_like(t, x), 0.03 + height, z + 0.15], axis=1)
    return out


def skeleton_positions(feet: np.ndarray) -> dict[str, np.ndarray]:
    """Every role's world positions (frames, 3), the legs and body placed above the feet."""
    mid = 0.5 * (feet[:, 0] + feet[:, 2])
    up = np.array([0.0, 1.0, 0.0])
    side = np.array([1.0, 0.0, 0.0])
    pos = {"foot_l": feet[:, 0], "toe_l": feet[:, 1], "foot_r": feet[:, 2], "toe_r": feet[:, 3]}
    for s, sign in (("l", 1), ("r", -1)):
        pos[f"hip_{s}"] = mid + 0.95 * up + sign * 0.1 * side
        pos[f"knee_{s}"] = 0.5 * (pos[f"hip_{s}"] + pos[f"foot_{s}"]) + 0.05 * np.array([0, 0, 1.0])
        pos[f"shoulder_{s}"] = mid + 1.45 * up + sign * 0.18 * side
        pos[f"elbow_{s}"] = mid + 1.2 * up + sign * 0.2 * side
        pos[f"wrist_{s}"] = mid + 0.95 * up + sign * 0.2 * side
    pos["neck"] = mid + 1.55 * up
    pos["head"] = mid + 1.65 * up
    return pos


def bvh_text(names: dict[str, str], feet: np.ndarray, fps: float, root: str = "Hips",
             extra: tuple[str, ...] = ()) -> str:
    """A BVH file whose joints named by `names` (role -> joint name) follow skeleton_positions(feet), in cm."""
    pos = skeleton_positions(feet)
    roles = [r for r in ALL_ROLES if r in names]
    joints = [(names[r], pos[r]) for r in roles] + [(e, pos["neck"]) for e in extra]
    lines = ["HIERARCHY", f"ROOT {root}", "{", "  OFFSET 0 0 0", "  CHANNELS 3 Xposition Yposition Zposition"]
    for name, _ in joints:
        lines += [f"  JOINT {name}", "  {", "    OFFSET 0 0 0", "    CHANNELS 3 Xposition Yposition Zposition",
                  "    End Site", "    {", "      OFFSET 0 0 0", "    }", "  }"]
    lines += ["}", "MOTION", f"Frames: {feet.shape[0]}", f"Frame Time: {1.0 / fps:.9f}"]
    table = np.concatenate([np.zeros((feet.shape[0], 3))] + [p * 100.0 for _, p in joints], axis=1)
    lines += [" ".join(f"{v:.5f}" for v in row) for row in table]
    return "\n".join(lines) + "\n"
