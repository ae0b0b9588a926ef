"""Synthetic walks for the 3-D tests: a skeleton around streams.walking_feet, as BVH text in any naming scheme.

The BVH puts every joint straight under the root with its own position channels, so the file's forward kinematics
reproduce the designed world positions exactly (in centimetres, Y up).
"""
from __future__ import annotations

import numpy as np

from footfall.engine.skeletons import ALL_ROLES
from footfall.engine.streams import walking_feet as walk_feet  # noqa: F401 - the tests' walk


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
