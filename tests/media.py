"""Test media generated on the fly with PyAV: nothing is committed, every test makes what it reads."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_video(path: Path, seconds: float = 1.0, fps: int = 30, size: tuple[int, int] = (160, 120),
               codec: str = "libx264", audio_rate: int | None = None) -> Path:
    """A moving-gradient clip, optionally with a sine audio track."""
    w, h = size
    with av.open(str(path), "w") as out:
        v = out.add_stream(codec, rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        a = None
        if audio_rate:
            a = out.add_stream("aac", rate=audio_rate, layout="stereo")
        n = int(round(seconds * fps))
        yy, xx = np.mgrid[0:h, 0:w]
        for i in range(n):
            img = np.stack([(xx + 4 * i) % 256, (yy + 2 * i) % 256, np.full_like(xx, 128)], -1).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
        if a is not None:
            total = int(seconds * audio_rate)
            t = np.arange(total) / audio_rate
            tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
            for start in range(0, total, 1024):
                chunk = tone[start:start + 1024]
                frame = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp", layout="stereo")
                frame.sample_rate = audio_rate
                frame.pts = start
                for p in a.encode(frame):
                    out.mux(p)
            for p in a.encode(None):
                out.mux(p)
    return path


def make_audio_only(path: Path, seconds: float = 0.5, rate: int = 48000) -> Path:
    with av.open(str(path), "w") as out:
        a = out.add_stream("pcm_s16le", rate=rate, layout="mono")
        data = (np.sin(np.arange(int(seconds * rate)) / 10) * 1000).astype(np.int16)[None, :]
        frame = av.AudioFrame.from_ndarray(data, format="s16", layout="mono")
        frame.sample_rate = rate
        for p in a.encode(frame):
            out.mux(p)
        for p in a.encode(None):
            out.mux(p)
    return path


def stored_picture(displayed: np.ndarray, degrees: int, hflip: bool = False, vflip: bool = False) -> np.ndarray:
    """The pixels to store so that a player shows `displayed`, by PyAV's documented meaning of
    `set_display_rotation(degrees, hflip, vflip)`: rotate `degrees` counter-clockwise, then mirror."""
    picture = displayed
    if hflip:
        picture = picture[:, ::-1]
    if vflip:
        picture = picture[::-1]
    return np.ascontiguousarray(np.rot90(picture, k=-(degrees // 90)))


def decoded_pictures(path: Path) -> list[tuple[np.ndarray, int, Fraction]]:
    """Every decoded picture of the first video stream as stored, with its pts and time base."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [(f.to_ndarray(format="rgb24"), f.pts, s.time_base) for f in c.decode(s)]


def write_pictures(path: Path, pictures, times_s, codec: str = "libx264", time_base: Fraction = Fraction(1, 90000),
                   rotation: tuple[int, bool, bool] | None = None, options: dict | None = None,
                   pix_fmt: str = "yuv420p") -> Path:
    """Encodes (H, W, 3) RGB pictures at the given presentation times (seconds, any spacing) with a display matrix
    (degrees counter-clockwise, hflip, vflip) when given. libx264rgb with rgb24 and qp 0 stores them exactly."""
    pictures = list(pictures)
    h, w = pictures[0].shape[:2]
    with av.open(str(path), "w") as out:
        v = out.add_stream(codec, rate=30)
        v.width, v.height, v.pix_fmt = w, h, pix_fmt
        v.time_base = time_base
        v.codec_context.time_base = time_base
        if options:
            v.options = options
        if rotation is not None:
            v.set_display_rotation(rotation[0], hflip=rotation[1], vflip=rotation[2])
        for picture, t in zip(pictures, times_s):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")
            frame.pts = int(round(t / time_base))
            frame.time_base = time_base
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
    return path


def remux(src: Path, dst: Path, time_base: Fraction | None = None, offset_s: float = 0.0,
          garbage: set[int] = frozenset(), seed: int = 0) -> Path:
    """The first video stream copied packet for packet into `dst` (its container from the suffix: .mkv and .webm
    round every timestamp to the millisecond), optionally re-timed to `time_base` and shifted by `offset_s`; the
    packets numbered in `garbage` are replaced by random bytes of their size (damage a decoder must survive)."""
    rng = np.random.default_rng(seed)
    with av.open(str(src)) as i, av.open(str(dst), "w") as o:
        vs = i.streams.video[0]
        os_ = o.add_stream_from_template(vs)
        tb_in = vs.time_base
        if time_base is not None:
            os_.time_base = time_base
        for k, p in enumerate(p for p in i.demux(vs) if p.dts is not None):
            if k in garbage:
                q = av.Packet(rng.integers(0, 256, p.size, dtype=np.uint8).tobytes())
                q.pts, q.dts, q.time_base = p.pts, p.dts, p.time_base
                p = q
            if time_base is not None or offset_s:
                tb = time_base or tb_in
                shift = offset_s / tb
                p.pts = None if p.pts is None else int(round(p.pts * tb_in / tb + shift))
                p.dts = int(round(p.dts * tb_in / tb + shift))
                p.duration = int(round((p.duration or 0) * tb_in / tb))
                p.time_base = tb
            p.stream = os_
            o.mux(p)
    return dst
