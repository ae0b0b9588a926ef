"""How a stored picture is meant to be shown: the display matrix that phones write for portrait video.

Phones store portrait video as landscape pixels plus a display matrix (rotation, sometimes a mirror). Players apply
it; footfall must too, or pose runs on sideways people (the indoor walk stored rotated gave 3 steps instead of 19) and
screen positions, panning and depth are those of the stored pixels. The matrix is FFmpeg's AV_PKT_DATA_DISPLAYMATRIX:
nine int32, the 2x2 part in 16.16 fixed point, mapping a stored point (p, q) (x right, y down) to the displayed
(m0 p + m3 q, m1 p + m4 q). Orientations are right angles and mirrors; any other angle is snapped to the nearest.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Orientation:
    """The displayed picture from the stored one: transpose the axes first, then mirror x and/or y."""

    transpose: bool = False
    flip_x: bool = False
    flip_y: bool = False

    @classmethod
    def from_display_matrix(cls, matrix: Sequence[int]) -> "Orientation":
        if len(matrix) != 9:
            raise ValueError(f"a display matrix has 9 entries, not {len(matrix)}")
        m0, m1, m3, m4 = (float(matrix[i]) for i in (0, 1, 3, 4))
        if abs(m0) + abs(m4) >= abs(m1) + abs(m3):  # display x from stored x
            return cls(False, m0 < 0, m4 < 0)
        return cls(True, m3 < 0, m1 < 0)  # display x from stored y

    @property
    def is_identity(self) -> bool:
        return not (self.transpose or self.flip_x or self.flip_y)

    @property
    def mirrored(self) -> bool:
        """Whether the displayed picture is a mirror image of the stored one (not only rotated)."""
        return self.transpose != (self.flip_x != self.flip_y)

    @property
    def clockwise_degrees(self) -> int:
        """The rotation (0, 90, 180, 270) that, after any mirroring of x, shows the picture."""
        flip_x = self.flip_x
        if self.mirrored and not self.transpose:
            flip_x = not flip_x  # take out the mirror of stored x: what remains is a rotation
        if not self.transpose:
            return 180 if flip_x else 0
        # transposed, the stored x mirror shows as a mirror of y; a rotation is then one of the two flips
        return 90 if flip_x else 270

    def describe(self) -> str:
        """How a viewer's player turns the stored picture, in words (empty when it shows it as stored)."""
        parts = []
        if self.mirrored:
            parts.append("mirrored")
        if self.clockwise_degrees == 270:
            parts.append("rotated 90° counter-clockwise")
        elif self.clockwise_degrees:
            parts.append(f"rotated {self.clockwise_degrees}° clockwise")
        return " and ".join(parts)

    def display_size(self, width: int, height: int) -> tuple[int, int]:
        """(width, height) as shown, of a stored picture of `width` x `height`."""
        return (height, width) if self.transpose else (width, height)

    def apply(self, image: np.ndarray) -> np.ndarray:
        """The displayed picture of a stored (H, W, ...) image: a view, no pixels copied."""
        shown = image.swapaxes(0, 1) if self.transpose else image
        if self.flip_x:
            shown = shown[:, ::-1]
        if self.flip_y:
            shown = shown[::-1]
        return shown


def frame_orientation(frame) -> Orientation:
    """The orientation a decoded PyAV frame's display matrix asks for (none: as stored)."""
    import av.sidedata.sidedata as sidedata

    for data in frame.side_data:
        if data.type == sidedata.Type.DISPLAYMATRIX:
            return Orientation.from_display_matrix(np.frombuffer(bytes(data), dtype="<i4").tolist())
    return Orientation()
