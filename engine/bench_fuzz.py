"""Fuzzing benchmark: damaged files through `footfall render`, each in its own process with a time limit.

Every outcome must be a render (exit 0) or a clean error (exit 1, the last line of stderr `footfall: ...`, no
traceback); anything else is a crash (another exit code, a traceback, a signal) and running past the limit is a hang.
The files are small clips footfall makes itself in the containers people send (.mp4 with audio, .mov, .mkv, .webm),
damaged the ways files are: cut short, bytes flipped in the header or the payload, an MP4 box zeroed, a stretch of
garbage written over the middle.
"""
from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

MUTATIONS = ("truncate", "flip_header", "flip_payload", "zero_box", "garbage")
OUTCOMES = ("rendered", "clean error", "crash", "hang")


@dataclass(frozen=True)
class FuzzCase:
    path: Path
    seed_clip: str
    mutation: str


@dataclass(frozen=True)
class FuzzResult:
    case: FuzzCase
    outcome: str
    returncode: int | None
    last_line: str
    seconds: float


def seed_clips(folder: Path, seconds: float = 1.5) -> list[Path]:
    """Small moving clips in the common containers: H.264 + AAC in .mp4, H.264 in .mov and .mkv, VP9 in .webm."""
    specs = [("clip.mp4", "libx264", True), ("clip.mov", "libx264", False), ("clip.mkv", "libx264", False),
             ("clip.webm", "libvpx-vp9", False)]
    out = []
    for name, codec, with_audio in specs:
        path = folder / name
        w, h, fps = 96, 64, 30
        with av.open(str(path), "w") as container:
            video = container.add_stream(codec, rate=fps)
            video.width, video.height, video.pix_fmt = w, h, "yuv420p"
            audio = container.add_stream("aac", rate=48000, layout="stereo") if with_audio else None
            yy, xx = np.mgrid[0:h, 0:w]
            for i in range(int(seconds * fps)):
                img = np.stack([(xx + 5 * i) % 256, (yy * 3 + i) % 256, np.full_like(xx, 90)], -1).astype(np.uint8)
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts, frame.time_base = i, Fraction(1, fps)
                container.mux(video.encode(frame))
            container.mux(video.encode(None))
            if audio is not None:
                n = int(seconds * 48000)
                tone = (0.1 * np.sin(np.arange(n) * 0.05)).astype(np.float32)
                for start in range(0, n, 1024):
                    chunk = tone[start:start + 1024]
                    frame = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp", layout="stereo")
                    frame.sample_rate, frame.pts = 48000, start
                    container.mux(audio.encode(frame))
                container.mux(audio.encode(None))
        out.append(path)
    return out


def mp4_boxes(data: bytes) -> list[tuple[int, int]]:
    """(offset, size) of the top-level boxes of an MP4/MOV file, and of the boxes inside moov."""
    boxes, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if size < 8 or pos + size > len(data):
            break
        boxes.append((pos, size))
        if kind == b"moov":
            inner = pos + 8
            while inner + 8 <= pos + size:
                inner_size = int.from_bytes(data[inner:inner + 4], "big")
                if inner_size < 8:
                    break
                boxes.append((inner, inner_size))
                inner += inner_size
        pos += size
    return boxes


def mutate(data: bytes, mutation: str, rng: random.Random) -> bytes:
    """`data` damaged one way; deterministic for a given generator state."""
    buf = bytearray(data)
    n = len(buf)
    if mutation == "truncate":
        return bytes(buf[:rng.randrange(1, n)])
    if mutation in ("flip_header", "flip_payload"):
        lo, hi = (0, min(n, 4096)) if mutation == "flip_header" else (min(n - 1, n // 8), n)
        for _ in range(rng.randint(1, 16)):
            buf[rng.randrange(lo, hi)] ^= 1 << rng.randrange(8)
        return bytes(buf)
    if mutation == "zero_box":
        boxes = mp4_boxes(data)
        if boxes:
            offset, size = rng.choice(boxes)
            start = offset + (0 if rng.random() < 0.3 else 8)  # the header itself, or the box's content
            buf[start:offset + size] = bytes(offset + size - start)
            return bytes(buf)
        mutation = "garbage"  # no boxes (Matroska, WebM): damage a stretch instead
    if mutation == "garbage":
        start = rng.randrange(0, n)
        length = min(n - start, rng.randint(1, 2048))
        buf[start:start + length] = bytes(rng.getrandbits(8) for _ in range(length))
        return bytes(buf)
    raise ValueError(f"unknown mutation {mutation!r}")


def make_cases(folder: Path, count: int, seed: int = 0) -> list[FuzzCase]:
    seeds = seed_clips(folder)
    rng = random.Random(seed)
    cases = []
    for k in range(count):
        clip = seeds[k % len(seeds)]
        mutation = MUTATIONS[(k // len(seeds)) % len(MUTATIONS)]
        path = folder / f"fuzz{k:05d}_{mutation}{clip.suffix}"
        path.write_bytes(mutate(clip.read_bytes(), mutation, rng))
        cases.append(FuzzCase(path, clip.name, mutation))
    return cases


def classify(returncode: int | None, stderr: str, timed_out: bool) -> str:
    if timed_out:
        return "hang"
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    if returncode == 0 and "Traceback" not in stderr:
        return "rendered"
    if returncode == 1 and "Traceback" not in stderr and last.startswith("footfall: "):
        return "clean error"
    return "crash"


def run_case(case: FuzzCase, timeout_s: float) -> FuzzResult:
    out = case.path.with_name(case.path.stem + ".out.wav")
    command = [sys.executable, "-m", "footfall.engine.cli", "render", str(case.path), "-o", str(out), "--quiet"]
    t0 = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s,
                              stdin=subprocess.DEVNULL)
        outcome = classify(done.returncode, done.stderr, False)
        code, stderr = done.returncode, done.stderr
    except subprocess.TimeoutExpired as exc:
        outcome, code = "hang", None
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
    last = stderr.strip().splitlines()[-1] if stderr.strip() else ""
    return FuzzResult(case, outcome, code, last[:300], time.perf_counter() - t0)


def run_fuzz(count: int = 500, timeout_s: float = 60.0, seed: int = 0, jobs: int = 2,
             keep: Path | None = None, on_result=None) -> list[FuzzResult]:
    """Makes `count` damaged files and renders each; `keep` keeps the files (and copies none elsewhere)."""
    with tempfile.TemporaryDirectory(prefix="footfall-fuzz-") as tmp:
        folder = Path(keep) if keep is not None else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        cases = make_cases(folder, count, seed)
        results = []
        pool = ThreadPoolExecutor(max_workers=jobs)
        try:
            for result in pool.map(lambda c: run_case(c, timeout_s), cases):
                results.append(result)
                if on_result is not None:
                    on_result(result)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # Ctrl-C: the renders under way end, no new one starts
        return results


def summary(results: list[FuzzResult]) -> str:
    counts = Counter(r.outcome for r in results)
    lines = [f"{len(results)} damaged files: " + ", ".join(f"{counts.get(o, 0)} {o}" for o in OUTCOMES)]
    by_mutation = Counter((r.case.mutation, r.outcome) for r in results)
    for mutation in MUTATIONS:
        row = [f"{by_mutation.get((mutation, o), 0)} {o}" for o in OUTCOMES if by_mutation.get((mutation, o))]
        if row:
            lines.append(f"  {mutation:13s} " + ", ".join(row))
    for r in results:
        if r.outcome in ("crash", "hang"):
            lines.append(f"  {r.outcome}: {r.case.path.name} (exit {r.returncode}): {r.last_line}")
    slowest = max((r.seconds for r in results), default=0.0)
    lines.append(f"  slowest file {slowest:.1f} s")
    return "\n".join(lines)
