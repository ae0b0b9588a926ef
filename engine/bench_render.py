"""Render benchmark: the whole engine against MediaPipe pose alone over the same frames, in one run.

"Pose alone" is the floor any MediaPipe-based renderer pays: PyAV decoding plus pose in the same worker processes,
nothing else. The engine's overhead is the ratio of the two speeds, measured side by side on the same machine. Each
measurement runs in a fresh process, as a command-line render does: nothing warmed by one (the pose workers' forkserver
with MediaPipe imported, a loaded bank) can flatter the other. The engine is timed over the whole `render_file` call,
bank loading and output opening included.
"""
from __future__ import annotations

import multiprocessing as mp
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from footfall.engine.pose.pool import PosePool
from footfall.engine.render import RenderSettings, render_file
from footfall.sources.video_file import VideoFileSource, probe


@dataclass(frozen=True)
class RenderBenchRow:
    video: str
    size: str
    frames: int
    media_s: float
    pose_alone_x: float  # media seconds per wall second
    engine_x: float
    steps: int
    people: int = 1

    @property
    def overhead(self) -> float:
        return self.pose_alone_x / self.engine_x - 1.0


def pose_alone(video: Path, settings: RenderSettings) -> tuple[int, float, float]:
    """(frames, media seconds, wall seconds) for decode + pose in the worker pool, from starting the workers to the
    last pose, exactly as the engine's wall time is counted."""
    source = VideoFileSource(video, settings.source)
    t0 = time.perf_counter()
    n = 0
    end = 0
    with PosePool(settings.pose, *source.analysis_shape) as pool:
        for sample in pool.map(source.frames()):
            n += 1
            end = sample.t_ns
        wall = time.perf_counter() - t0
    return n, (end / 1e9) + 1 / float(source.info.rate), wall


def engine(video: Path, settings: RenderSettings) -> tuple[float, float, int]:
    """(media seconds, wall seconds, steps) of a whole render to .mp4, timed around the `render_file` call."""
    with tempfile.TemporaryDirectory(prefix="footfall-bench-") as tmp:
        t0 = time.perf_counter()
        summary = render_file(video, Path(tmp) / "out.mp4", settings)
        wall = time.perf_counter() - t0
    return summary.media_s, wall, summary.steps


def in_fresh_process(fn, *args):
    """fn(*args) in a newly spawned interpreter, so each measurement starts as cold as a command-line run."""
    with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def bench_video(video: Path, settings: RenderSettings) -> RenderBenchRow:
    n, media_s, pose_wall = in_fresh_process(pose_alone, video, settings)
    engine_media_s, engine_wall, steps = in_fresh_process(engine, video, settings)
    info = probe(video)
    return RenderBenchRow(video.name, f"{info.width}x{info.height}", n, media_s, media_s / pose_wall,
                          engine_media_s / engine_wall, steps, settings.pose.max_people)


def format_rows(rows: list[RenderBenchRow]) -> str:
    head = (f"{'video':44} {'size':>10} {'people':>6} {'frames':>6} {'media s':>7} {'pose alone':>10} {'engine':>7} "
            f"{'overhead':>8} {'steps':>5}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r.video[:44]:44} {r.size:>10} {r.people:6d} {r.frames:6d} {r.media_s:7.2f} "
                     f"{r.pose_alone_x:9.2f}x {r.engine_x:6.2f}x {r.overhead * 100:7.1f}% {r.steps:5d}")
    return "\n".join(lines)
