"""Any video file played as live: each frame is released when its media time comes round on the monotonic clock and
stamped with that arrival time, as a camera would deliver it. For demos, tests and the live benchmark.

Decoding is `VideoFileSource`'s (timestamps, scaling, errors are the same as rendering's); this only paces it. A
frame that decodes late is released late, with its true arrival, so a slow machine shows up as latency, not as a
fiction. The stream ends with the file.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from footfall.engine.messages import VideoFrame
from footfall.sources.video_file import VideoFileSource, VideoSourceParams


class PacedFileSource:
    def __init__(self, path: Path, params: VideoSourceParams | None = None) -> None:
        self.file = VideoFileSource(Path(path), params)
        self.name = str(path)

    @property
    def analysis_shape(self) -> tuple[int, int]:
        return self.file.analysis_shape

    @property
    def duration_s(self) -> float:
        return self.file.info.duration_ns_hint / 1e9

    def frames(self) -> Iterator[VideoFrame]:
        start: int | None = None
        for frame in self.file.frames():
            if start is None:
                start = time.monotonic_ns() - frame.t_ns
            wait = start + frame.t_ns - time.monotonic_ns()
            if wait > 0:
                time.sleep(wait / 1e9)
            yield replace(frame, arrival_ns=time.monotonic_ns())
