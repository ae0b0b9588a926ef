"""Any video file played as live: each frame is released when its media time comes round on the monotonic clock and
stamped with that arrival time, as a camera would deliver it. For demos, tests and the live benchmark.

Decoding is `VideoFileSource`'s (timestamps, scaling, errors are the same as rendering's); this only paces it. A
frame that decodes late is released late, with its true arrival, so a slow machine shows up as latency, not as a
fiction. The stream ends with the file, or after `passes` plays of it end to end (media time running on: a loop for
installations and soak tests).
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from footfall.engine.messages import VideoFrame
from footfall.sources.video_file import VideoFileSource, VideoSourceParams


class PacedFileSource:
    def __init__(self, path: Path, params: VideoSourceParams | None = None, passes: int = 1) -> None:
        if passes < 1:
            raise ValueError("passes must be at least 1")
        self.file = VideoFileSource(Path(path), params)
        self.name = str(path)
        self.passes = passes

    @property
    def analysis_shape(self) -> tuple[int, int]:
        return self.file.analysis_shape

    @property
    def duration_s(self) -> float:
        return self.file.info.duration_ns_hint / 1e9

    def frames(self) -> Iterator[VideoFrame]:
        start: int | None = None
        offset = index = 0
        for _ in range(self.passes):
            end = offset
            for frame in self.file.frames():
                t_ns = frame.t_ns + offset
                if start is None:
                    start = time.monotonic_ns() - t_ns
                wait = start + t_ns - time.monotonic_ns()
                if wait > 0:
                    time.sleep(wait / 1e9)
                yield replace(frame, index=index, t_ns=t_ns, arrival_ns=time.monotonic_ns())
                index += 1
                end = t_ns + frame.duration_ns
            offset = end
