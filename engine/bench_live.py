"""`footfall bench live`: a file played as live through the whole engine to a paced sound card, measured per step.

The paced device is PortAudio on ALSA's null device, paced by the sink's callback (the null device itself takes
audio as fast as it is given; see sinks/sound_card.py): the real PortAudio path, a callback on PortAudio's own
thread, DAC times on the monotonic clock. Clips are made here from a video of a walker: played forward then
backward (so a loop has no jump), scaled to the size asked and, for a higher rate, each frame shown as often as it
takes. Each case runs `footfall live` in a fresh process, as a user would, and reads its --stats-json.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

NULL_ALSA = "pcm.!default { type null }\nctl.!default { type hw card 0 }\n"
BUDGET_MS = 40.0  # engine latency may exceed the detector's own delay by this much (p95 against p95)


@dataclass(frozen=True)
class LiveCase:
    name: str
    width: int
    height: int
    fps: int
    seconds: float


def back_and_forth_clip(src: Path, out: Path, width: int, height: int, fps: int) -> float:
    """`src` forward then backward at width x height and `fps` (frames repeated to reach it); returns seconds."""
    with av.open(str(src)) as inp:
        stream = inp.streams.video[0]
        src_fps = float(stream.average_rate or 30)
        frames = [f.reformat(width=width, height=height, format="yuv420p") for f in inp.decode(stream)]
    repeat = max(1, round(fps / src_fps))
    sequence = frames + frames[::-1]
    with av.open(str(out), "w") as dst:
        v = dst.add_stream("libx264", rate=fps, options={"preset": "veryfast", "crf": "23"})
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        pts = 0
        for frame in sequence:
            for _ in range(repeat):
                copy = av.VideoFrame.from_ndarray(frame.to_ndarray(), format="yuv420p")
                copy.pts, copy.time_base = pts, Fraction(1, fps)
                pts += 1
                for packet in v.encode(copy):
                    dst.mux(packet)
        for packet in v.encode(None):
            dst.mux(packet)
    return pts / fps


def run_case(clip: Path, clip_s: float, case: LiveCase, work: Path, extra: list[str]) -> dict:
    passes = max(1, math.ceil(case.seconds / clip_s))
    stats = work / f"{case.name}.json"
    env = dict(os.environ)
    if "--device" not in extra:
        conf = work / "asound.conf"
        conf.write_text(NULL_ALSA)
        env["ALSA_CONFIG_PATH"] = str(conf)
    cmd = [sys.executable, "-m", "footfall.engine.cli", "live", str(clip), "--loop", str(passes), "--quiet",
           "--stats-json", str(stats), *extra]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{case.name}: footfall live failed: {result.stderr.strip().splitlines()[-1:]}")
    doc = json.loads(stats.read_text())
    doc["case"] = case.name
    return doc


def row(doc: dict) -> dict:
    lat, delay = doc["latency_ms"], doc["detection_delay_ms"]
    budget = None if delay["p95"] is None else delay["p95"] + BUDGET_MS
    mem = doc["memory_mb"]
    samples = doc.get("memory_samples", [])
    settled = samples[1]["mb"] if len(samples) > 1 else mem["start"]  # 10 s in: pose workers, bank and kernels loaded
    return {"case": doc["case"], "minutes": round(doc["wall_s"] / 60, 2), "steps": doc["steps"],
            "latency_p50_ms": lat["p50"], "latency_p95_ms": lat["p95"], "delay_p95_ms": delay["p95"],
            "budget_p95_ms": budget, "holds": budget is not None and lat["p95"] is not None and lat["p95"] <= budget,
            "frames": doc["frames_arrived"], "dropped": doc["frames_dropped"], "underruns": doc["underruns"],
            "underruns_startup": doc["underruns_warmup"], "memory_start_mb": mem["start"],
            "memory_10s_mb": settled, "memory_end_mb": mem["end"],
            "memory_end_vs_10s": round(mem["end"] / max(settled, 1e-9), 4)}


def format_rows(rows: list[dict]) -> str:
    head = (f"{'case':<10}{'min':>6}{'steps':>7}{'lat p50':>9}{'lat p95':>9}{'delay p95':>11}{'budget':>8}"
            f"{'holds':>7}{'frames':>8}{'dropped':>9}{'underruns':>11}{'mem 10s/end MB':>16}")
    lines = [head]
    for r in rows:
        lines.append(f"{r['case']:<10}{r['minutes']:>6.1f}{r['steps']:>7}{_f(r['latency_p50_ms']):>9}"
                     f"{_f(r['latency_p95_ms']):>9}{_f(r['delay_p95_ms']):>11}{_f(r['budget_p95_ms']):>8}"
                     f"{'yes' if r['holds'] else 'no':>7}{r['frames']:>8}{r['dropped']:>9}"
                     f"{r['underruns']:>6} (+{r['underruns_startup']})"
                     f"{r['memory_10s_mb']:>8.0f}/{r['memory_end_mb']:.0f}")
    return "\n".join(lines)


def _f(v) -> str:
    return "--" if v is None else f"{v:.1f}"


def bench_live(video: Path, cases: list[LiveCase], extra: list[str], keep: Path | None = None) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="footfall-bench-live-") as tmp:
        work = keep or Path(tmp)
        for case in cases:
            clip = work / f"{case.name}.mp4"
            clip_s = back_and_forth_clip(video, clip, case.width, case.height, case.fps)
            rows.append(row(run_case(clip, clip_s, case, work, extra)))
            print(format_rows(rows[-1:]).splitlines()[-1] if len(rows) > 1 else format_rows(rows), flush=True)
    return rows
