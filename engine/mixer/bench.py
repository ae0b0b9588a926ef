"""How much faster than real time the mixer renders, numba kernels against the NumPy reference, in one run.

Every voice stays busy all the time: the bank holds long clips, and each voice "lane" is re-triggered shortly before
its clip ends, so the pool holds `voices` sounding voices throughout (the re-trigger steals the ending voice, which
also exercises stealing). Triggers are issued block by block as a live graph would, and their cost is counted.
"""
from __future__ import annotations

import time

import numpy as np

from footfall.bank.sample_bank import Bank, BankEntry
from footfall.engine.mixer.mixer import Mixer, MixerParams

CLIP_SECONDS = 4.0
RETRIGGER_SECONDS = 3.5  # shorter than a clip even at the fastest pitch jitter, so no voice lane falls silent


def bench_bank(sample_rate: int, clips: int = 8, seconds: float = CLIP_SECONDS, seed: int = 0) -> Bank:
    """Long decaying noise clips with a sharp onset, enough for every voice to read its own audio."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    envelope = np.exp(-np.arange(n) / (0.8 * sample_rate)).astype(np.float32)
    audio = [(rng.standard_normal(n).astype(np.float32) * 0.3 * envelope) for _ in range(clips)]
    entries = [BankEntry(f"bench{i}", "concrete", "sneaker", (i + 0.5) / clips, 0, "bench noise") for i in range(clips)]
    return Bank.from_clips(sample_rate, audio, entries, name="bench")


def _run(engine: str, voices: int, seconds: float, block: int, bank: Bank, sample_rate: int) -> dict:
    mixer = Mixer(MixerParams(sample_rate=sample_rate, max_voices=voices), bank, engine=engine)
    rng = np.random.default_rng(1)
    period = int(RETRIGGER_SECONDS * sample_rate)
    # Lane i re-triggers at i * period / voices + k * period; its first start lies in the past (a late event, so it
    # plays whole from frame 0), so every lane sounds from the first block on.
    next_start = (np.arange(voices, dtype=np.int64) * period) // voices - period
    out = np.zeros((block, 2), np.float32)
    blocks = max(1, int(round(seconds * sample_rate / block)))
    held = 0
    triggers = 0
    t, cpu = time.perf_counter(), time.thread_time()
    for b in range(blocks):
        end = mixer.position + block
        due = np.flatnonzero(next_start < end)
        for lane in due:
            mixer.trigger(int(next_start[lane]), "concrete", "sneaker", rng.random(), 1.0 + rng.random(), rng.random())
            next_start[lane] += period
            triggers += 1
        mixer.render_into(out)
        held += mixer.active_voices
    wall, cpu = time.perf_counter() - t, time.thread_time() - cpu
    media = blocks * block / sample_rate
    return {
        "engine": engine, "voices": voices, "block": block, "media_s": media, "wall_s": wall,
        "realtime_x": media / wall, "cpu_s": cpu, "cpu_realtime_x": media / max(cpu, 1e-9), "mean_active": held / blocks, "triggers": triggers,
    }


def bench_mixer(voice_counts=(1, 16, 64, 256), seconds: float = 10.0, block: int = 512) -> list[dict]:
    """Real-time factor (media seconds / wall seconds) of the numba and NumPy mixers for each voice count.

    Each row: engine, voices, block, media_s, wall_s, realtime_x, cpu_s, cpu_realtime_x (media seconds per CPU
    second of this thread), mean_active (voices active per block, averaged), triggers.
    """
    sample_rate = 48000
    bank = bench_bank(sample_rate)
    _run("numba", 4, 0.1, block, bank, sample_rate)  # compile (or load) the kernels before timing
    rows = []
    for voices in voice_counts:
        for engine in ("numba", "numpy"):
            rows.append(_run(engine, int(voices), seconds, block, bank, sample_rate))
    return rows


def format_table(rows: list[dict]) -> str:
    """A plain-text table, one line per voice count, numba and NumPy side by side."""
    by_voices: dict[int, dict[str, dict]] = {}
    for r in rows:
        by_voices.setdefault(r["voices"], {})[r["engine"]] = r
    lines = [f"{'voices':>6}  {'active':>6}  {'numba x RT':>10}  {'numpy x RT':>10}  {'speed-up':>8}  "
             f"{'numba x CPU':>11}  {'numpy x CPU':>11}"]
    for voices, pair in sorted(by_voices.items()):
        nb, npy = pair.get("numba"), pair.get("numpy")
        active = (nb or npy)["mean_active"]
        fmt = lambda r: f"{r['realtime_x']:10.1f}" if r else f"{'-':>10}"
        ratio = f"{nb['realtime_x'] / npy['realtime_x']:8.1f}" if nb and npy else f"{'-':>8}"
        cpu = lambda r: f"{r['cpu_realtime_x']:11.1f}" if r else f"{'-':>11}"
        lines.append(f"{voices:>6}  {active:6.1f}  {fmt(nb)}  {fmt(npy)}  {ratio}  {cpu(nb)}  {cpu(npy)}")
    first = rows[0] if rows else {"block": 0, "media_s": 0.0}
    lines.append(f"(48 kHz stereo, {first['block']}-frame blocks, {first['media_s']:.1f} s of media per run; "
                 "x RT = media seconds per wall second, x CPU = per CPU second of\nthe rendering thread, which other load on the machine does not inflate; triggers included)")
    return "\n".join(lines)


if __name__ == "__main__":
    print(format_table(bench_mixer()))
