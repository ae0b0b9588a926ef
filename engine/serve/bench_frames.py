"""`footfall bench serve-frames`: pictures into a running `footfall serve --frames` (its own process, as for a tool).

A stick-figure walker crossing the picture (drawn at W x H and F fps with lines thick enough for the pose model: it
finds 7 of its 8 steps at 720p with render --mode live) is encoded as JPEG beforehand (the sender's cost stays out
of it), looped to the length asked for, and sent at its own rate, then faster (`speeds`). Reported per pass: pictures
taken, dropped at the video edge, posed and posed per second, and for each step the time from sending the picture
that made it (its t_ns + delay) to receiving the step (client side), beside the step message's engine_ms (that
picture's arrival to the step's publication: JPEG decoding, analysis scaling, waiting for a pose worker, pose,
the detector) and the detector's own delay.
"""
from __future__ import annotations

import bisect
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import av
import numpy as np

from footfall.engine.client import FootfallClient
from footfall.engine.demo import draw_picture
from footfall.engine.serve.bench import Service, connected, free_base_port
from footfall.sinks.stick_figure_video import StickFigureParams
from footfall.sources.pictures import JpegEncoder
from footfall.sources.procedural_walkers import DEFAULT_WALKERS, ProceduralWalkers, WalkerSceneParams
from footfall.sources.video_file import ticks_to_ns


CROSSING_S = 6.0  # the walker crosses the picture in about this long


def jpeg_clip(width: int, height: int, fps: float, seconds: float, quality: int) -> list[tuple[int, bytes]]:
    """The walker's crossing as (media time ns, JPEG bytes), looped (media time going on) to `seconds`."""
    walker = replace(DEFAULT_WALKERS[1], start_s=0.0, start_x=-0.05, end_x=1.05)
    scene = WalkerSceneParams(width=width, height=height, fps=fps, duration_s=CROSSING_S, walkers=(walker,))
    encoder = JpegEncoder(quality)
    look = StickFigureParams(width=width, height=height, fps=fps, line_width=14.0 * height / 360)
    with tempfile.TemporaryDirectory(prefix="footfall-bench-frames-") as tmp:
        clip = Path(tmp) / "walker.mp4"
        draw_picture(ProceduralWalkers(scene), clip, look)
        with av.open(str(clip)) as container:
            stream = container.streams.video[0]
            out, first = [], None
            for frame in container.decode(stream):
                first = frame.pts if first is None else first
                out.append((ticks_to_ns(frame.pts - first, stream.time_base), encoder.encode(frame.to_ndarray(
                    format="rgb24"))))
    period = out[-1][0] + out[1][0]
    loops = max(1, int(round(seconds / (period / 1e9))))
    return [(k * period + t, jpeg) for k in range(loops) for t, jpeg in out]


def _send(sender: FootfallClient, pictures: list[tuple[int, bytes]], offset_ns: int, fps: float,
          sent_at: dict[int, float]) -> None:
    began = time.perf_counter()
    for i, (t_ns, jpeg) in enumerate(pictures):
        wait = began + i / fps - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        sent_at[offset_ns + t_ns] = time.perf_counter()
        sender.send_frame(offset_ns + t_ns, jpeg)


def _settle(control: FootfallClient, received: int, last_ns: int, timeout_s: float = 60.0) -> dict:
    """The status once the service has taken `received` pictures and posed the last one (media time `last_ns`)."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = control.status()
        posed = status["frames"]["posed_ns"]
        if status["counters"].get("received", 0) >= received and posed is not None and posed >= last_ns:
            return status
        if time.monotonic() > deadline:
            raise RuntimeError("footfall serve --frames did not take the pictures")
        time.sleep(0.01)


def serve_frames(width: int = 1280, height: int = 720, fps: float = 30.0, seconds: float = 20.0,
                 quality: int = 3, workers: int | None = None, speeds: tuple[float, ...] = (1.0, 2.0)) -> dict:
    """Both passes' rows (see the module)."""
    pictures = jpeg_clip(width, height, fps, seconds, quality)
    base = free_base_port(5)
    serve = {"frames": f"tcp://127.0.0.1:{base + 4}", "frames_max_side": max(width, height)}
    config = {"serve": serve, **({"pose": {"workers": workers}} if workers else {})}
    with Service(base, config) as service, connected(service) as (control, listener, sender):
        rows = {}
        sent_at: dict[int, float] = {}
        offset = 0
        before = {"received": 0, "dropped": 0, "steps": 0}
        for speed in speeds:
            name, rate = f"x{speed:g}", speed * fps
            began = time.perf_counter()
            _send(sender, pictures, offset, rate, sent_at)
            status = _settle(control, before["received"] + len(pictures), offset + pictures[-1][0])
            wall = time.perf_counter() - began
            received = status["counters"]["frames"] - before["received"]
            dropped = status["frames"]["dropped"] - before["dropped"]
            steps = [(arrived, doc) for arrived, doc in listener.steps[before["steps"]:]]
            times = sorted(sent_at)
            lat, engine, delay = [], [], []
            for arrived, doc in steps:
                made_by = doc["t_ns"] + int(round(doc["delay_ms"] * 1e6))
                k = min(bisect.bisect_left(times, made_by), len(times) - 1)
                lat.append((arrived - sent_at[times[k]]) * 1000)
                delay.append(doc["delay_ms"])
                if "engine_ms" in doc:
                    engine.append(doc["engine_ms"])
            rows[name] = {"send_fps": rate, "pictures": len(pictures), "wall_s": round(wall, 2), "taken": received,
                          "dropped": dropped, "posed": received - dropped,
                          "posed_per_s": round((received - dropped) / wall, 1), "steps": len(steps),
                          **_percentiles("sent_to_step_ms", lat), **_percentiles("engine_ms", engine),
                          **_percentiles("detector_delay_ms", delay)}
            before = {"received": status["counters"]["frames"], "dropped": status["frames"]["dropped"],
                      "steps": len(listener.steps)}
            offset += pictures[-1][0] + 10**9
        rows["invalid"] = status["counters"].get("invalid", 0)
        rows["jpeg_kib_mean"] = round(float(np.mean([len(j) for _, j in pictures])) / 1024, 1)
    return {"size": f"{width}x{height}", "fps": fps, "seconds": seconds, "quality": quality, **rows}


def _percentiles(name: str, values: list[float]) -> dict:
    if not values:
        return {f"{name}_p50": None, f"{name}_p95": None}
    a = np.asarray(values, float)
    return {f"{name}_p50": round(float(np.percentile(a, 50)), 1), f"{name}_p95": round(float(np.percentile(a, 95)), 1)}
