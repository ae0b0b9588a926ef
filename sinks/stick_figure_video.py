"""Draws pose samples as stick figures on a ground plane and encodes them to a video (picture only).

The demo has no camera footage, so this is what the viewer sees: each tracked person as a skeleton (a colour per
track, the left limbs warm, the right limbs cool, the far side dimmer), the current ground surface as a caption and
ground texture, and a ring where each step just landed, so the sync with the footsteps is visible.
Drawing is anti-aliased capsules and rings from distance fields, done by one numba kernel over small boxes;
`draw_primitives` is its validating wrapper and `draw_primitives_reference` the plain NumPy version it is tested
against. The soundtrack is muxed in afterwards by the project's video muxer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import av
import numba
import numpy as np

from footfall.engine.messages import PoseSample

Colour = tuple[int, int, int]

# Primitive rows: x0, y0, x1, y1 (pixels), half width, ring radius (0 = capsule), opacity 0..1.
PRIMITIVE_FIELDS = 7

_TRACK_PALETTE: tuple[Colour, ...] = (
    (236, 94, 74), (66, 170, 220), (120, 200, 90), (230, 170, 40), (170, 110, 220), (60, 200, 180),
)
_LEFT_TINT: Colour = (255, 215, 110)
_RIGHT_TINT: Colour = (110, 190, 255)
_SURFACE_COLOURS: dict[str, Colour] = {
    "wood": (150, 104, 62), "gravel": (128, 124, 116), "grass": (84, 140, 64), "concrete": (150, 150, 146),
    "tile": (196, 192, 184), "carpet": (120, 70, 80), "snow": (230, 234, 240), "sand": (206, 182, 130),
    "metal": (110, 118, 126), "dirt": (118, 86, 58), "water": (70, 110, 150), "stone": (140, 136, 128),
}

# MediaPipe 33-landmark bones by body part.
_TORSO = ((11, 12), (11, 23), (12, 24), (23, 24))
_ARM = {"left": ((11, 13), (13, 15), (15, 17), (15, 19), (17, 19), (15, 21)),
        "right": ((12, 14), (14, 16), (16, 18), (16, 20), (18, 20), (16, 22))}
_LEG = {"left": ((23, 25), (25, 27), (27, 29), (29, 31), (27, 31)),
        "right": ((24, 26), (26, 28), (28, 30), (30, 32), (28, 32))}
_SIDE_POINTS = {"left": (11, 13, 15, 23, 25, 27), "right": (12, 14, 16, 24, 26, 28)}


@dataclass(frozen=True)
class StickFigureParams:
    """Frame format, look and encoder settings.

    line_width is in pixels for a person at the reference size (60 % of the frame height) and scales with each
    figure's size. codec falls back to "mpeg4" (at bit_rate) where libx264 is missing; crf and preset apply to
    libx264. threads: encoder threads, 0 = let the codec choose.
    """

    width: int = 1280
    height: int = 720
    fps: float = 30.0
    horizon_y: float = 0.45
    sky_top: Colour = (24, 30, 48)
    sky_bottom: Colour = (70, 86, 112)
    ground_colour: Colour = (110, 110, 104)
    line_width: float = 7.0
    flash_radius_px: float = 18.0
    caption: bool = True
    codec: str = "libx264"
    crf: int = 20
    preset: str = "superfast"
    bit_rate: int = 4_000_000
    threads: int = 0

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0 or self.width % 2 or self.height % 2:
            raise ValueError("width and height must be positive and even (yuv420p)")
        if self.fps <= 0:
            raise ValueError("fps must be positive")
        if not 0.0 <= self.horizon_y < 1.0:
            raise ValueError("horizon_y must lie in 0..1")

    @property
    def rate(self) -> Fraction:
        return Fraction(self.fps).limit_denominator(10_000)


# --- drawing kernel --------------------------------------------------------------------------------------------
@numba.njit(cache=True, nogil=True)
def _draw_primitives_kernel(image, primitives, colours):
    height, width = image.shape[0], image.shape[1]
    for k in range(primitives.shape[0]):
        x0, y0, x1, y1 = primitives[k, 0], primitives[k, 1], primitives[k, 2], primitives[k, 3]
        half, ring, opacity = primitives[k, 4], primitives[k, 5], primitives[k, 6]
        pad = half + ring + 1.0
        c0 = max(int(math.floor(min(x0, x1) - pad)), 0)
        c1 = min(int(math.ceil(max(x0, x1) + pad)), width - 1)
        r0 = max(int(math.floor(min(y0, y1) - pad)), 0)
        r1 = min(int(math.ceil(max(y0, y1) + pad)), height - 1)
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        for r in range(r0, r1 + 1):
            py = r + 0.5
            for c in range(c0, c1 + 1):
                px = c + 0.5
                t = 0.0
                if length2 > 0.0:
                    t = ((px - x0) * dx + (py - y0) * dy) / length2
                    t = min(max(t, 0.0), 1.0)
                ex, ey = px - (x0 + t * dx), py - (y0 + t * dy)
                d = math.sqrt(ex * ex + ey * ey)
                sd = abs(d - ring) - half if ring > 0.0 else d - half
                cover = min(max(0.5 - sd, 0.0), 1.0) * opacity
                if cover > 0.0:
                    for ch in range(3):
                        v = image[r, c, ch] + (colours[k, ch] - image[r, c, ch]) * cover
                        image[r, c, ch] = np.uint8(math.floor(v + 0.5))


def _check_primitives(image: np.ndarray, primitives: np.ndarray, colours: np.ndarray) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3 or not image.flags.c_contiguous:
        raise ValueError("image must be a C-contiguous uint8 (H, W, 3) array")
    if primitives.dtype != np.float64 or primitives.ndim != 2 or primitives.shape[1] != PRIMITIVE_FIELDS:
        raise ValueError(f"primitives must be float64 (n, {PRIMITIVE_FIELDS})")
    if colours.dtype != np.float64 or colours.shape != (primitives.shape[0], 3):
        raise ValueError("colours must be float64 (n, 3), one row per primitive")
    if not np.all(np.isfinite(primitives)):
        raise ValueError("primitives must be finite")


def draw_primitives(image: np.ndarray, primitives: np.ndarray, colours: np.ndarray) -> None:
    """Blend anti-aliased capsules (ring radius 0) and rings into `image` in place, in row order."""
    _check_primitives(image, primitives, colours)
    _draw_primitives_kernel(image, primitives, colours)


def draw_primitives_reference(image: np.ndarray, primitives: np.ndarray, colours: np.ndarray) -> None:
    """The same as `draw_primitives`, in plain NumPy (for testing the kernel)."""
    _check_primitives(image, primitives, colours)
    height, width = image.shape[:2]
    for (x0, y0, x1, y1, half, ring, opacity), colour in zip(primitives, colours):
        pad = half + ring + 1.0
        c0, c1 = max(math.floor(min(x0, x1) - pad), 0), min(math.ceil(max(x0, x1) + pad), width - 1)
        r0, r1 = max(math.floor(min(y0, y1) - pad), 0), min(math.ceil(max(y0, y1) + pad), height - 1)
        if c1 < c0 or r1 < r0:
            continue
        py, px = np.mgrid[r0:r1 + 1, c0:c1 + 1] + 0.5
        dx, dy = x1 - x0, y1 - y0
        length2 = dx * dx + dy * dy
        t = np.clip(((px - x0) * dx + (py - y0) * dy) / length2, 0.0, 1.0) if length2 > 0 else np.zeros_like(px)
        d = np.hypot(px - (x0 + t * dx), py - (y0 + t * dy))
        sd = np.abs(d - ring) - half if ring > 0 else d - half
        cover = (np.clip(0.5 - sd, 0.0, 1.0) * opacity)[..., None]
        box = image[r0:r1 + 1, c0:c1 + 1].astype(np.float64)
        blended = np.floor(box + (colour - box) * cover + 0.5)
        image[r0:r1 + 1, c0:c1 + 1] = np.where(cover > 0, blended, box).astype(np.uint8)


# --- RGB to video YUV -------------------------------------------------------------------------------------------
# BT.709, limited range: what players assume for HD video, and what the stream is tagged with.
_KR, _KB = 0.2126, 0.0722
_KG = 1.0 - _KR - _KB


@numba.njit(cache=True, nogil=True)
def _rgb_to_yuv420_kernel(rgb, y_plane, u_plane, v_plane, r0, r1, c0, c1):
    for r in range(r0, r1, 2):
        for c in range(c0, c1, 2):
            sr, sg, sb = 0.0, 0.0, 0.0
            for dr in range(2):
                for dc in range(2):
                    red, green, blue = rgb[r + dr, c + dc, 0], rgb[r + dr, c + dc, 1], rgb[r + dr, c + dc, 2]
                    luma = _KR * red + _KG * green + _KB * blue
                    y_plane[r + dr, c + dc] = np.uint8(math.floor(16.0 + luma * (219.0 / 255.0) + 0.5))
                    sr += red
                    sg += green
                    sb += blue
            sr, sg, sb = 0.25 * sr, 0.25 * sg, 0.25 * sb
            luma = _KR * sr + _KG * sg + _KB * sb
            u = 128.0 + (sb - luma) / (2 * (1 - _KB)) * (224.0 / 255.0)
            v = 128.0 + (sr - luma) / (2 * (1 - _KR)) * (224.0 / 255.0)
            u_plane[r // 2, c // 2] = np.uint8(math.floor(u + 0.5))
            v_plane[r // 2, c // 2] = np.uint8(math.floor(v + 0.5))


def _even_box(box: tuple[int, int, int, int], height: int, width: int) -> tuple[int, int, int, int]:
    r0, r1, c0, c1 = box
    return max(r0 - r0 % 2, 0), min(r1 + r1 % 2, height), max(c0 - c0 % 2, 0), min(c1 + c1 % 2, width)


def rgb_to_yuv420(rgb: np.ndarray, yuv: np.ndarray, box: tuple[int, int, int, int] | None = None) -> None:
    """Convert `rgb` (H, W, 3) uint8 into `yuv` (H * 3 // 2, W) yuv420p in place, within box (r0, r1, c0, c1)."""
    y_plane, u_plane, v_plane = _yuv_planes(rgb, yuv)
    height, width = rgb.shape[:2]
    r0, r1, c0, c1 = _even_box(box or (0, height, 0, width), height, width)
    if r1 > r0 and c1 > c0:
        _rgb_to_yuv420_kernel(rgb, y_plane, u_plane, v_plane, r0, r1, c0, c1)


def rgb_to_yuv420_reference(rgb: np.ndarray) -> np.ndarray:
    """Whole-frame conversion in plain NumPy (for testing the kernel)."""
    height, width = rgb.shape[:2]
    f = rgb.astype(np.float64)
    luma = _KR * f[..., 0] + _KG * f[..., 1] + _KB * f[..., 2]
    mean = f.reshape(height // 2, 2, width // 2, 2, 3).mean(axis=(1, 3))
    mean_luma = _KR * mean[..., 0] + _KG * mean[..., 1] + _KB * mean[..., 2]
    y_plane = np.floor(16.0 + luma * (219.0 / 255.0) + 0.5)
    u_plane = np.floor(128.0 + (mean[..., 2] - mean_luma) / (2 * (1 - _KB)) * (224.0 / 255.0) + 0.5)
    v_plane = np.floor(128.0 + (mean[..., 0] - mean_luma) / (2 * (1 - _KR)) * (224.0 / 255.0) + 0.5)
    planes = [y_plane.ravel(), u_plane.ravel(), v_plane.ravel()]
    return np.concatenate(planes).astype(np.uint8).reshape(height * 3 // 2, width)


def _yuv_planes(rgb: np.ndarray, yuv: np.ndarray):
    height, width = rgb.shape[:2]
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or height % 2 or width % 2:
        raise ValueError("rgb must be uint8 (H, W, 3) with even H and W")
    if yuv.dtype != np.uint8 or yuv.shape != (height * 3 // 2, width) or not yuv.flags.c_contiguous:
        raise ValueError("yuv must be a C-contiguous uint8 (H * 3 // 2, W) array")
    flat = yuv.reshape(-1)
    luma_size, chroma_size = height * width, height * width // 4
    return (flat[:luma_size].reshape(height, width),
            flat[luma_size:luma_size + chroma_size].reshape(height // 2, width // 2),
            flat[luma_size + chroma_size:].reshape(height // 2, width // 2))


# --- the picture -----------------------------------------------------------------------------------------------
def _mix(a: Sequence[float], b: Sequence[float], amount: float) -> np.ndarray:
    return np.asarray(a, dtype=np.float64) * (1 - amount) + np.asarray(b, dtype=np.float64) * amount


class StickFigureCanvas:
    """Draws one RGB frame per pose sample. Backgrounds and caption bitmaps are built once and kept."""

    def __init__(self, params: StickFigureParams):
        self.params = params
        self._backgrounds: dict[str | None, np.ndarray] = {}
        self._captions: dict[str, np.ndarray] = {}
        self._font = None
        self._buffer: np.ndarray | None = None
        self._buffer_surface: str | None = None
        self._dirty: list[tuple[int, int, int, int]] = []

    def draw(self, sample: PoseSample, surface: str | None = None,
             flashes: Sequence[tuple] = ()) -> np.ndarray:
        """A new (H, W, 3) uint8 frame. flashes: (foot, x, y) or (foot, x, y, age 0..1) in normalised coords."""
        return self.render(sample, surface, flashes)[0].copy()

    def render(self, sample: PoseSample, surface: str | None = None,
               flashes: Sequence[tuple] = ()) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
        """The frame and the boxes (r0, r1, c0, c1) outside which it equals `background(surface)`.

        The frame is the canvas's own buffer, valid until the next call: only the previous frame's boxes are
        restored from the background, instead of copying a whole frame.
        """
        image = self._clean_buffer(surface)
        rows: list[tuple] = []
        colours: list[np.ndarray] = []
        groups: list[int] = [0]
        for person in sorted(sample.persons, key=lambda person: self._figure_scale(person.landmarks)):
            self._figure(person.track_id, person.landmarks, rows, colours)
            groups.append(len(rows))
        for flash in flashes:
            self._flash(flash, rows, colours)
            groups.append(len(rows))
        boxes = []
        if rows:
            primitives = np.array(rows, dtype=np.float64)
            draw_primitives(image, primitives, np.array(colours, dtype=np.float64))
            boxes = [self._box(primitives[a:b]) for a, b in zip(groups[:-1], groups[1:]) if b > a]
        if surface is not None and self.params.caption:
            boxes.append(self._blend_caption(image, f"surface: {surface}"))
        self._dirty = boxes
        return image, boxes

    def _clean_buffer(self, surface: str | None) -> np.ndarray:
        background = self.background(surface)
        if self._buffer is None or self._buffer_surface != surface:
            self._buffer = background.copy()
            self._buffer_surface = surface
        else:
            for r0, r1, c0, c1 in self._dirty:
                self._buffer[r0:r1, c0:c1] = background[r0:r1, c0:c1]
        self._dirty = []
        return self._buffer

    def _box(self, primitives: np.ndarray) -> tuple[int, int, int, int]:
        pad = primitives[:, 4] + primitives[:, 5] + 2.0
        xs, ys = primitives[:, [0, 2]], primitives[:, [1, 3]]
        c0, c1 = np.floor(np.min(xs.min(axis=1) - pad)), np.ceil(np.max(xs.max(axis=1) + pad))
        r0, r1 = np.floor(np.min(ys.min(axis=1) - pad)), np.ceil(np.max(ys.max(axis=1) + pad))
        h, w = self.params.height, self.params.width
        return (int(np.clip(r0, 0, h)), int(np.clip(r1 + 1, 0, h)), int(np.clip(c0, 0, w)), int(np.clip(c1 + 1, 0, w)))

    # --- background ---
    def background(self, surface: str | None) -> np.ndarray:
        if surface not in self._backgrounds:
            self._backgrounds[surface] = self._build_background(surface)
        return self._backgrounds[surface]

    def _ground_colour(self, surface: str | None) -> np.ndarray:
        if surface is None:
            return np.asarray(self.params.ground_colour, dtype=np.float64)
        if surface in _SURFACE_COLOURS:
            return np.asarray(_SURFACE_COLOURS[surface], dtype=np.float64)
        seed = sum(ord(ch) * 31 ** i for i, ch in enumerate(surface)) % (2 ** 32)
        return np.random.default_rng(seed).uniform(70, 190, size=3)

    def _build_background(self, surface: str | None) -> np.ndarray:
        p = self.params
        h, w = p.height, p.width
        horizon = int(round(p.horizon_y * h))
        image = np.empty((h, w, 3), dtype=np.float64)
        sky = np.linspace(0.0, 1.0, max(horizon, 1))[:, None]
        image[:horizon] = (np.asarray(p.sky_top) * (1 - sky) + np.asarray(p.sky_bottom) * sky)[:, None]
        rows = np.arange(horizon, h)
        nearness = (rows - horizon + 1) / max(h - horizon, 1)  # 0 at the horizon, 1 at the bottom
        base = self._ground_colour(surface)
        haze = _mix(p.sky_bottom, base, 0.35)
        shade = np.clip(0.25 + 0.75 * nearness, 0, 1)[:, None] ** 0.5
        image[horizon:] = (haze * (1 - shade) + base * shade)[:, None, :]
        self._ground_texture(image[horizon:], nearness, surface)
        return np.clip(np.round(image), 0, 255).astype(np.uint8)

    def _ground_texture(self, ground: np.ndarray, nearness: np.ndarray, surface: str | None) -> None:
        """Perspective cues: planks for wood, speckle for gravel-like surfaces, faint bands otherwise."""
        h, w = ground.shape[:2]
        rng = np.random.default_rng(7)
        # Bands at equal ground distances crowd towards the horizon.
        band = np.sin(2 * np.pi * 6.0 / np.maximum(nearness, 0.02))
        if surface == "wood":
            seams = np.abs(band) > 0.97
            ground *= np.where(seams, 0.72, 1.0)[:, None, None]
            grain = 1 + 0.05 * np.sin(np.arange(w)[None, :] * 0.05 + 40 * nearness[:, None])
            ground *= grain[..., None]
        elif surface in ("gravel", "sand", "dirt", "snow", "stone", "concrete"):
            speckle = rng.normal(0.0, 0.12, size=(h, w)) * np.clip(nearness, 0.2, 1.0)[:, None]  # finer far off
            ground *= (1 + speckle)[..., None]
        else:
            ground *= (1 + 0.04 * band)[:, None, None]

    # --- figures ---
    @staticmethod
    def _figure_scale(landmarks: np.ndarray) -> float:
        """The figure's height in frame heights (nose to the lower ankle)."""
        return float(max(landmarks[27, 1], landmarks[28, 1]) - landmarks[0, 1])

    def _figure(self, track_id: int, landmarks: np.ndarray, rows: list, colours: list) -> None:
        p = self.params
        xy = landmarks[:, :2].astype(np.float64) * (p.width, p.height)
        scale = max(self._figure_scale(landmarks) / 0.6, 0.15)
        half = 0.5 * p.line_width * scale
        base = np.asarray(_TRACK_PALETTE[track_id % len(_TRACK_PALETTE)], dtype=np.float64)
        z = landmarks[:, 2]
        sides = sorted(("left", "right"), key=lambda s: -float(np.mean(z[list(_SIDE_POINTS[s])])))
        far, near = sides
        tints = {"left": _mix(base, _LEFT_TINT, 0.5), "right": _mix(base, _RIGHT_TINT, 0.5)}

        def bone(a: int, b: int, colour: np.ndarray, width: float) -> None:
            rows.append((xy[a, 0], xy[a, 1], xy[b, 0], xy[b, 1], width, 0.0, 1.0))
            colours.append(colour)

        def limbs(side: str, dim: float) -> None:
            colour = _mix(tints[side], (20, 20, 30), dim)
            for a, b in _LEG[side]:
                bone(a, b, colour, half)
            for a, b in _ARM[side]:
                bone(a, b, colour, half * (0.8 if (a, b) in _ARM[side][:2] else 0.5))
            for joint in (_LEG[side][0][1], _LEG[side][1][1], _ARM[side][0][1]):
                bone(joint, joint, colour, half * 1.25)

        limbs(far, 0.35)
        for a, b in _TORSO:
            bone(a, b, base, half * 1.1)
        shoulders = 0.5 * (xy[11] + xy[12])
        ears = 0.5 * (xy[7] + xy[8])
        head_r = 0.95 * float(np.hypot(*(xy[0] - ears)))
        neck_top = ears + (shoulders - ears) * head_r / max(float(np.hypot(*(shoulders - ears))), 1e-6)
        rows.append((shoulders[0], shoulders[1], neck_top[0], neck_top[1], half * 0.9, 0.0, 1.0))
        colours.append(base)
        limbs(near, 0.0)
        rows.append((ears[0], ears[1], ears[0], ears[1], head_r, 0.0, 1.0))
        colours.append(base)
        rows.append((xy[0, 0], xy[0, 1], xy[0, 0], xy[0, 1], max(half * 0.45, 1.0), 0.0, 1.0))
        colours.append(_mix(base, (255, 255, 255), 0.6))

    def _flash(self, flash: tuple, rows: list, colours: list) -> None:
        foot, x, y = flash[0], float(flash[1]), float(flash[2])
        age = min(max(float(flash[3]), 0.0), 1.0) if len(flash) > 3 else 0.0
        p = self.params
        px, py = x * p.width, y * p.height
        radius = p.flash_radius_px * (0.6 + 1.4 * age)
        tint = _LEFT_TINT if foot == "left" else _RIGHT_TINT
        rows.append((px, py, px, py, max(2.5 * (1 - 0.5 * age), 1.0), radius, 1.0 - 0.85 * age))
        colours.append(np.asarray(tint, dtype=np.float64))

    # --- caption ---
    def _blend_caption(self, image: np.ndarray, text: str) -> tuple[int, int, int, int]:
        mask = self._caption_mask(text)
        h, w = min(mask.shape[0], image.shape[0] - 16), min(mask.shape[1], image.shape[1] - 16)
        box = image[16:16 + h, 16:16 + w].astype(np.float32)
        panel = 0.45 * box  # a dark panel behind the text
        alpha = mask[:h, :w, None]
        image[16:16 + h, 16:16 + w] = np.round(panel * (1 - alpha) + 255.0 * alpha).astype(np.uint8)
        return 16, 16 + h, 16, 16 + w

    def _caption_mask(self, text: str) -> np.ndarray:
        """Text coverage (0..1) on a padded panel, rendered with Pillow's built-in font once per string."""
        if text not in self._captions:
            from PIL import Image, ImageDraw, ImageFont

            if self._font is None:
                self._font = ImageFont.load_default(size=max(12, round(self.params.height / 26)))
            left, top, right, bottom = self._font.getbbox(text)
            pad = 10
            canvas = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
            ImageDraw.Draw(canvas).text((pad - left, pad - top), text, fill=255, font=self._font)
            self._captions[text] = np.asarray(canvas, dtype=np.float32) / 255.0
        return self._captions[text]


# --- the video file --------------------------------------------------------------------------------------------
class IncrementalYuv:
    """A yuv420p frame kept up to date from RGB frames that differ from a background only inside given boxes.

    Converting a whole 720p frame costs more than drawing it; here only the previous frame's boxes are restored
    from the converted background and only the new boxes are converted.
    """

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self._backgrounds: dict[object, np.ndarray] = {}
        self._frame: np.ndarray | None = None
        self._key: object = None
        self._dirty: list[tuple[int, int, int, int]] = []

    def update(self, image: np.ndarray, boxes: Sequence[tuple[int, int, int, int]], background: np.ndarray,
               key: object) -> np.ndarray:
        """The yuv420p (H * 3 // 2, W) buffer for `image`; `key` names `background` (converted once per key)."""
        if key not in self._backgrounds:
            converted = np.empty((self.height * 3 // 2, self.width), dtype=np.uint8)
            rgb_to_yuv420(background, converted)
            self._backgrounds[key] = converted
        converted = self._backgrounds[key]
        if self._frame is None or self._key != key:
            self._frame, self._key = converted.copy(), key
        else:
            for box in self._dirty:
                self._restore(converted, box)
        for box in boxes:
            rgb_to_yuv420(image, self._frame, box)
        self._dirty = list(boxes)
        return self._frame

    def _restore(self, background: np.ndarray, box: tuple[int, int, int, int]) -> None:
        h, w = self.height, self.width
        r0, r1, c0, c1 = _even_box(box, h, w)
        self._frame[r0:r1, c0:c1] = background[r0:r1, c0:c1]
        for start in (h, h + h // 4):  # U then V: each (h/2, w/2) plane is stored as h/4 rows of w
            target = self._frame[start:start + h // 4].reshape(h // 2, w // 2)
            source = background[start:start + h // 4].reshape(h // 2, w // 2)
            target[r0 // 2:r1 // 2, c0 // 2:c1 // 2] = source[r0 // 2:r1 // 2, c0 // 2:c1 // 2]


_BT709, _LIMITED_RANGE = 1, 1  # FFmpeg's AVCOL_SPC_BT709 / AVCOL_PRI_BT709 / AVCOL_TRC_BT709, AVCOL_RANGE_MPEG


def _codec_available(name: str) -> bool:
    try:
        av.codec.Codec(name, "w")
    except Exception:  # PyAV raises UnknownCodecError (a ValueError) or a codec-specific error
        return False
    return True


class StickFigureVideo:
    """Writes drawn frames to a video file; frame i has pts i in time base 1/fps, so the duration is exact."""

    def __init__(self, path: Path, params: StickFigureParams | None = None):
        self.params = params or StickFigureParams()
        self.path = Path(path)
        self.canvas = StickFigureCanvas(self.params)
        self.frames_written = 0
        self._yuv = IncrementalYuv(self.params.width, self.params.height)
        self._container = av.open(str(self.path), mode="w")
        try:
            self._stream = self._open_stream()
        except Exception:
            self._container.close()
            raise

    @property
    def codec_name(self) -> str:
        return self._stream.codec_context.name

    def _open_stream(self):
        p = self.params
        codec = p.codec if _codec_available(p.codec) else "mpeg4"
        options = {"crf": str(p.crf), "preset": p.preset} if codec == "libx264" else {}
        stream = self._container.add_stream(codec, rate=p.rate, options=options)
        stream.width, stream.height, stream.pix_fmt = p.width, p.height, "yuv420p"
        stream.codec_context.time_base = 1 / p.rate
        stream.codec_context.thread_count = p.threads
        context = stream.codec_context
        context.colorspace = context.color_primaries = context.color_trc = _BT709
        context.color_range = _LIMITED_RANGE
        if codec != "libx264":
            stream.bit_rate = p.bit_rate
        return stream

    def write(self, sample: PoseSample, surface: str | None = None, flashes: Sequence[tuple] = ()) -> None:
        """Draw and encode the next frame (frames are numbered in call order, not by sample.frame_index).

        Only the drawn boxes are converted to YUV; the rest comes from the converted background.
        """
        image, boxes = self.canvas.render(sample, surface, flashes)
        yuv = self._yuv.update(image, boxes, self.canvas.background(surface), surface)
        self._encode(av.VideoFrame.from_ndarray(yuv, format="yuv420p"))

    def _encode(self, frame: av.VideoFrame) -> None:
        frame.pts = self.frames_written
        frame.time_base = 1 / self.params.rate
        frame.colorspace, frame.color_range = _BT709, _LIMITED_RANGE
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        if self._container is None:
            return
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
        finally:
            self._container.close()
            self._container = None

    def __enter__(self) -> "StickFigureVideo":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
