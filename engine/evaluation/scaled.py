"""Low-resolution copies of labelled videos, for measuring small figures the way such footage has them.

A copy is each picture scaled by area to fit the size (portrait clips turned: a 480x270 budget makes a portrait clip
270x480), encoded again with x264 at that size (compressed at the low resolution, as a low-resolution source would
be), with the original's timestamps, so the labels of the original hold frame for frame. Copies are kept in the
cache, keyed by the original's path, size and modification time.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import av

from footfall.engine.cache_dir import cache_root

CRF = "20"


def fitted_size(width: int, height: int, box: tuple[int, int]) -> tuple[int, int]:
    """(w, h) of a width x height picture scaled to fit `box` (turned to the picture's orientation), even sides."""
    long_side, short_side = max(box), min(box)
    bw, bh = (long_side, short_side) if width >= height else (short_side, long_side)
    scale = min(bw / width, bh / height, 1.0)
    return max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2)


def scaled_copy(video: Path, box: tuple[int, int], cache: Path | None = None) -> Path:
    """The copy of `video` scaled to fit `box`, made once; it has the original's stem (its labels' name)."""
    st = video.stat()
    key = hashlib.sha256(f"{video.resolve()}|{st.st_size}|{st.st_mtime_ns}|{box}|{CRF}".encode()).hexdigest()[:16]
    out = (cache or cache_root() / "eval-scaled") / f"{box[0]}x{box[1]}" / key / f"{video.stem}.mp4"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f"{video.stem}.partial.mp4")
    with av.open(str(video)) as src, av.open(str(partial), "w") as dst:
        stream = src.streams.video[0]
        w, h = fitted_size(stream.codec_context.width, stream.codec_context.height, box)
        enc = dst.add_stream("libx264", rate=stream.average_rate or 30)
        enc.width, enc.height, enc.pix_fmt = w, h, "yuv420p"
        enc.time_base = stream.time_base
        enc.options = {"crf": CRF, "preset": "veryfast"}
        for frame in src.decode(stream):
            small = frame.reformat(width=w, height=h, format="yuv420p", interpolation="AREA")
            small.pts, small.time_base = frame.pts, frame.time_base
            for packet in enc.encode(small):
                dst.mux(packet)
        for packet in enc.encode(None):
            dst.mux(packet)
    partial.replace(out)
    return out
