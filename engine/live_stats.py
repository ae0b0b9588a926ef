"""What a live run measures: for every step, when its contact frame arrived, when the event was emitted, when its
sound was scheduled and when that sound reached the DAC, all on the monotonic clock; frames dropped, underruns,
memory. Read by the status line while running and written as JSON at the end (`--stats`, `--stats-json`).

The contact's wall time is where the source's arrival clock puts the contact's media time: the arrival of the last
frame at or before it, plus the media time between them (a paced file or a camera delivers media time in real time).
"""
from __future__ import annotations

import os
import resource
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass
from typing import Iterable, Iterator

import numpy as np

from footfall.engine.messages import StepEvent, VideoFrame

ARRIVAL_HISTORY = 4096  # frames whose arrival is remembered (over a minute at 60 fps): the contact frame is among them


def rss_bytes() -> int:
    """This process's resident memory now (Linux /proc; elsewhere the peak, which is what the OS offers)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return peak_rss_bytes()


def peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if os.uname().sysname == "Darwin" else peak * 1024


@dataclass
class StepTiming:
    """One step's way through the live graph (monotonic nanoseconds; -1 where not reached)."""

    t_ns: int
    track_id: int
    foot: str
    delay_ns: int
    contact_ns: int = -1
    emitted_ns: int = -1
    scheduled_ns: int = -1
    dac_ns: int = -1

    def to_dict(self) -> dict:
        d = asdict(self)
        for a, b, name in (("contact_ns", "emitted_ns", "detect_ms"), ("emitted_ns", "scheduled_ns", "schedule_ms"),
                           ("scheduled_ns", "dac_ns", "output_ms"), ("contact_ns", "dac_ns", "latency_ms")):
            d[name] = round((d[b] - d[a]) / 1e6, 3) if d[a] >= 0 and d[b] >= 0 else None
        return d


def percentiles(values: Iterable[float]) -> dict:
    v = np.asarray(list(values), np.float64)
    if v.size == 0:
        return {"p50": None, "p95": None, "max": None, "n": 0}
    return {"p50": round(float(np.percentile(v, 50)), 2), "p95": round(float(np.percentile(v, 95)), 2),
            "max": round(float(v.max()), 2), "n": int(v.size)}


class LiveStats:
    """Thread-safe: the source, steps and mixer stages each report their moment of a step."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._arrivals: deque[tuple[int, int]] = deque(maxlen=ARRIVAL_HISTORY)
        self._open: dict[StepEvent, StepTiming] = {}
        self.steps: list[StepTiming] = []
        self.frames_arrived = 0
        self.started_ns = time.monotonic_ns()
        self.memory_start = rss_bytes()
        self.memory_samples: list[tuple[float, int]] = []
        self.mixer_realtime = False
        self.lead_frames_max = 0
        self.splices = 0  # steps spliced into audio already written ahead of the card (engine/mixer/ring_writer.py)
        self.late_splices = 0  # ... of which the card had played part before it was written again

    def watch(self, items: Iterable) -> Iterator:
        """A source's items, each frame's (media time, arrival) noted on the way into the graph."""
        for item in items:
            if isinstance(item, VideoFrame):
                arrival = item.arrival_ns if item.arrival_ns >= 0 else time.monotonic_ns()
                self._arrivals.append((item.t_ns, arrival))
                self.frames_arrived += 1
            yield item

    def contact_wall_ns(self, t_ns: int) -> int:
        """The monotonic time at which media time `t_ns` was live (see the module docstring)."""
        arrivals = list(self._arrivals)
        for t, arrival in reversed(arrivals):
            if t <= t_ns:
                return arrival + (t_ns - t)
        if arrivals:
            t, arrival = arrivals[0]
            return arrival - (t - t_ns)
        return time.monotonic_ns()

    def emitted(self, ev: StepEvent) -> None:
        now = time.monotonic_ns()
        timing = StepTiming(ev.t_ns, ev.track_id, ev.foot, ev.delay_ns, self.contact_wall_ns(ev.t_ns), now)
        with self._lock:
            self._open[ev] = timing
            self.steps.append(timing)

    def scheduled(self, ev: StepEvent) -> None:
        with self._lock:
            timing = self._open.get(ev)
            if timing is not None:
                timing.scheduled_ns = time.monotonic_ns()

    def sounded(self, ev: StepEvent, dac_ns: int) -> None:
        with self._lock:
            timing = self._open.pop(ev, None)
            if timing is not None:
                timing.dac_ns = dac_ns

    def sample_memory(self) -> None:
        self.memory_samples.append(((time.monotonic_ns() - self.started_ns) / 1e9, rss_bytes()))

    def recent_latency_ms(self, n: int = 20) -> float | None:
        with self._lock:
            done = [s.dac_ns - s.contact_ns for s in self.steps[-n:] if s.dac_ns >= 0]
        return float(np.median(done)) / 1e6 if done else None

    @property
    def sounded_count(self) -> int:
        with self._lock:
            return sum(1 for s in self.steps if s.dac_ns >= 0)

    def summary(self, frames_dropped: dict[str, int], output=None, extra: dict | None = None) -> dict:
        """The JSON document: `steps`, `latency_ms` and `detection_delay_ms` (p50/p95), per stage, drops, underruns,
        memory, then every step."""
        with self._lock:
            steps = list(self.steps)
        done = [s for s in steps if s.dac_ns >= 0]

        def ms(a: str, b: str) -> dict:
            return percentiles((getattr(s, b) - getattr(s, a)) / 1e6 for s in done)

        end = rss_bytes()
        doc = {
            "steps": len(done),
            "steps_detected": len(steps),
            "latency_ms": ms("contact_ns", "dac_ns"),
            "detection_delay_ms": percentiles(s.delay_ns / 1e6 for s in done),
            "stages_ms": {"contact_to_emitted": ms("contact_ns", "emitted_ns"),
                          "emitted_to_scheduled": ms("emitted_ns", "scheduled_ns"),
                          "scheduled_to_dac": ms("scheduled_ns", "dac_ns")},
            "frames_arrived": self.frames_arrived,
            "frames_dropped": int(sum(frames_dropped.values())),
            "frames_dropped_by_edge": dict(frames_dropped),
            "underruns": output.underruns if output is not None else 0,
            "underruns_warmup": output.underruns_warmup if output is not None else 0,
            "underrun_frames": output.underrun_frames if output is not None else 0,
            "memory_mb": {"start": round(self.memory_start / 2**20, 1), "end": round(end / 2**20, 1),
                          "peak": round(peak_rss_bytes() / 2**20, 1),
                          "end_vs_start": round(end / max(self.memory_start, 1), 4)},
            "wall_s": round((time.monotonic_ns() - self.started_ns) / 1e9, 3),
        }
        if output is not None:
            doc["underrun_times_s"] = [round((t - self.started_ns) / 1e9, 3) for t in output.underrun_times_ns()]
            doc["device"] = {"block": output.params.block, "fill_blocks": output.params.fill_blocks,
                             "fill_blocks_most_used": self.lead_frames_max / output.params.block,
                             "splice_blocks": output.params.splice_blocks, "splices": self.splices,
                             "late_splices": self.late_splices,
                             "device_latency_ms": round(output.device_latency_ns / 1e6, 2),
                             "paced_by_footfall": output.paced_here,
                             "realtime_threads": {"callback": output.realtime, "mixer": self.mixer_realtime}}
        doc.update(extra or {})
        doc["memory_samples"] = [{"t_s": round(t, 1), "mb": round(b / 2**20, 1)} for t, b in self.memory_samples]
        doc["per_step"] = [s.to_dict() for s in steps]
        return doc


def format_stats(doc: dict) -> str:
    """The summary as a few lines for the terminal (`--stats`)."""
    def pq(d: dict) -> str:
        return "n/a" if d["p50"] is None else f"p50 {d['p50']:.1f} ms  p95 {d['p95']:.1f} ms  max {d['max']:.1f} ms"

    lines = [f"steps played      {doc['steps']} (detected {doc['steps_detected']})",
             f"latency           {pq(doc['latency_ms'])}   (contact frame's arrival -> sound at the DAC)",
             f"detection delay   {pq(doc['detection_delay_ms'])}   (media time, contact -> deciding frame)"]
    for name, d in doc["stages_ms"].items():
        lines.append(f"  {name:<16}{pq(d)}")
    m = doc["memory_mb"]
    lines += [f"frames            {doc['frames_arrived']} arrived, {doc['frames_dropped']} dropped "
              f"{doc['frames_dropped_by_edge']}",
              f"underruns         {doc['underruns']} (start-up {doc['underruns_warmup']})",
              f"memory            {m['start']} MB at start, {m['end']} MB at end, peak {m['peak']} MB"]
    return "\n".join(lines)
