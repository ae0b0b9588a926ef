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
