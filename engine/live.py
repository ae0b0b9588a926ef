"""`footfall live`: a camera, a stream or a file played as live, through the one graph, to the sound card.

The graph is `run_pipeline`'s, under the LIVE policy (newest frame to pose, device-paced mixer). The source is
opened first (a bad file fails at once), then the pose workers start while the bank loads, then the sound card is
opened (a missing or busy device fails before anything plays) with the record and events files. Whatever ends the run
(the file's end, Ctrl-C, SIGTERM, a failure), the record, events and stats files are finished as far as it got.
"""
from __future__ import annotations

import gc
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TextIO

from footfall.bank.open import open_bank
from footfall.engine import config as cfg
from footfall.engine.graph.policy import LIVE
from footfall.engine.graph.supervisor import Supervisor
from footfall.engine.live_stats import LiveStats
from footfall.engine.mixer.mixer import warm_up
from footfall.engine.pose.pool import PosePool
from footfall.engine.render import (RenderSettings, RenderSummary, check_vocabulary, open_scenes, run_pipeline,
                                    start_clip)
from footfall.engine.scene.plan import scenes_document
from footfall.engine.stages import video_items
from footfall.sinks.audio_file import AudioFileSink
from footfall.sinks.events import EventSink, write_atomically
from footfall.sinks.sound_card import SoundCardParams, SoundCardSink
from footfall.sources.capture import CaptureParams
from footfall.sources.live import open_live_source

SWITCH_INTERVAL_S = 0.001  # the GIL is handed on at least this often while live, so no thread holds up the mixer


@dataclass(frozen=True)
class LiveParams:
    """How a live run shares the machine."""

    pose_nice: int = 5  # pose workers run this much nicer than the engine's process: decoding, steps and the mixer,
    # whose threads hold the GIL the sound card's callback needs, get the CPU first when it is short

    def __post_init__(self) -> None:
        if not 0 <= self.pose_nice <= 19:
            raise ValueError("pose_nice must lie in 0..19")


@dataclass(frozen=True)
class LiveSettings:
    render: RenderSettings
    sound_card: SoundCardParams
    capture: CaptureParams
    live: LiveParams = LiveParams()

    @classmethod
    def from_config(cls, table: dict, source_name: str = "config") -> "LiveSettings":
        return cls(RenderSettings.from_config(table, source_name),
                   cfg.section(table, "sound_card", SoundCardParams, source_name),
                   cfg.section(table, "capture", CaptureParams, source_name),
                   cfg.section(table, "live", LiveParams, source_name))


def renice(pids: tuple[int, ...], by: int) -> None:
    """Lowers these processes' priority by `by` (never raises it; where not permitted, leaves it)."""
    for pid in pids:
        try:
            os.setpriority(os.PRIO_PROCESS, pid, min(19, os.getpriority(os.PRIO_PROCESS, pid) + by))
        except (OSError, AttributeError):
            pass


class LiveStatus:
    """The one-line status while live: time, steps played, recent latency, frames dropped, underruns."""

    def __init__(self, stats: LiveStats, sup: Supervisor, output: SoundCardSink, stream: TextIO | None = None,
                 enabled: bool | None = None, memory_every_s: float = 10.0) -> None:
        self.stats, self.sup, self.output = stats, sup, output
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.steps = 0
        self._last_draw = 0.0
        self._next_memory = 0.0
        self._every = memory_every_s

    def advance(self, done_s: float) -> None:  # the offline progress hook; live time is the wall clock
        pass

    def draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if now >= self._next_memory:
            self.stats.sample_memory()
            self._next_memory = now + self._every
        if not self.enabled or (not force and now - self._last_draw < 0.25):
            return
        self._last_draw = now
        latency = self.stats.recent_latency_ms()
        shown = f"{latency:5.0f} ms" if latency is not None else "   -- ms"
        self.stream.write(f"\rlive {(time.monotonic_ns() - self.stats.started_ns) / 1e9:7.1f} s  "
                          f"{self.stats.sounded_count:4d} steps  latency {shown}  "
                          f"dropped {dropped_frames(self.sup)['source']:5d}  underruns {self.output.underruns:3d} ")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.draw(force=True)
            self.stream.write("\n")
            self.stream.flush()


def dropped_frames(sup: Supervisor) -> dict[str, int]:
    """Items dropped at each edge that may drop (the video edge under LIVE)."""
    return {ch.name: ch.dropped for ch in sup.channels if ch.policy == "latest"} or {"source": 0}


@dataclass(frozen=True)
class LiveResult:
    summary: RenderSummary | None
    stats: dict


def run_live(spec: str, settings: LiveSettings, bank_spec: str | None = None, events_path: Path | None = None,
             record_path: Path | None = None, stats_path: Path | None = None, status: bool | None = None,
             stream_factory: Callable | None = None, on_result: Callable[[LiveResult], None] | None = None,
             passes: int = 1, scenes: str | None = None, notice: Callable[[str], None] | None = None) -> LiveResult:
    """Plays `spec`'s footsteps live. Raises SourceError/SinkError/BankError/StageFailed on failure and
    KeyboardInterrupt on cancel; the stats document is written to `stats_path` (and given to `on_result`) first.
    `scenes` and `notice`: as for `render_file` (scene changes swap banks live, never waiting for a load)."""
    sup = Supervisor()
    rs = settings.render
    sr, channels = rs.mixer.sample_rate, rs.mixer.channels
    source = open_live_source(spec, settings.capture, rs.source, sup.cancel_event, passes)
    clip = start_clip(rs.scene) if scenes is not None else None  # loads while the workers start
    previous_switch = sys.getswitchinterval()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="footfall-prepare") as prepare:
        bank_loaded = prepare.submit(open_bank, bank_spec)
        warmed = prepare.submit(warm_up, rs.mixer)
        with PosePool(rs.pose, *source.analysis_shape) as pool:
            renice(pool.worker_pids, settings.live.pose_nice)
            bank = bank_loaded.result()
            plan = None
            if scenes is not None:
                plan, bank = open_scenes(rs, scenes, bank, notice, clip)
            warmed.result()  # the mixer's kernels load before the sound card starts, never inside its first blocks
            try:
                check_vocabulary(bank, rs.render)
                output = SoundCardSink(settings.sound_card, sr, channels, record_path is not None, stream_factory)
            except BaseException:
                if plan is not None:
                    plan.close()
                raise
            record = events = None
            try:
                record = AudioFileSink(record_path, sr, channels) if record_path is not None else None
                events = EventSink(events_path) if events_path is not None else None
            except BaseException:
                output.close()
                if record is not None:
                    record.abort()
                raise
            stats = LiveStats()
            live_status = LiveStatus(stats, sup, output, enabled=status)
            summary = None
            sys.setswitchinterval(SWITCH_INTERVAL_S)
            gc.collect()
            gc.freeze()  # what start-up built is never scanned again: a full collection mid-run stalls every thread
            try:
                summary = run_pipeline(lambda: video_items(source.frames()), rs, output, events, bank, live_status,
                                       source_name=spec, pose_pool=pool, policy=LIVE, live_stats=stats,
                                       record_sink=record, sup=sup, scenes=plan)
            finally:
                if plan is not None:
                    plan.close()
                gc.unfreeze()
                sys.setswitchinterval(previous_switch)
                live_status.finish()
                doc = stats.summary(dropped_frames(sup), output, {"source": spec, "mode": rs.steps.mode,
                                                                  "reconnects": getattr(source, "reconnects", 0)})
                if plan is not None:
                    doc["scenes"] = scenes_document(plan.tap.log, summary.bank_swaps if summary else ())
                result = LiveResult(summary, doc)
                if stats_path is not None:
                    write_atomically(stats_path, json.dumps(doc, indent=1) + "\n")
                if on_result is not None:
                    on_result(result)
    return result
