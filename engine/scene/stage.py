"""The scene stage: cuts on every frame, CLIP on a few, scene changes into the stream ahead of the frames they govern.

It taps the source's items on the source's own thread (`SceneTap.wrap`): the cut detector reads a sparse grid of each
frame's analysis image (tens of microseconds, no copy), so frames reach pose as before. Every `embed_interval_ms`,
and at once on a cut, the frame is handed (by reference) to a worker thread that embeds it with CLIP; the worker's
results feed the scene tracker in media-time order, and each new scene whose zero-shot surface or footwear differs
from what is playing becomes a `SceneChange` at the scene's start, put into the stream before the next frame.
Rendering a file (`live=False`) the tap waits for the embedding of a cut before passing the cut's frame on, and for
any other embedding `render_lag_ms` of media time later, so every render of a file gives the same scenes and a
cut's change reaches the mixer before any step after it. Live, the tap never waits: one embedding runs at a time,
the newest request waits behind it (a cut's is never replaced by a periodic one), and a change is passed on as soon
as it is known. Without a CLIP model only cuts are found and the surface stays as configured.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import numpy as np

from footfall.engine.messages import EndOfStream, SceneChange, VideoFrame
from footfall.engine.scene.clip_model import ClipEmbedder
from footfall.engine.scene.cuts import CutDetector, CutParams
from footfall.engine.scene.labels import LabelSet, Prompts
from footfall.engine.scene.tracker import SceneTracker, SceneTrackerParams

NO_CLIP_NOTICE = "no CLIP model ([scene] clip_model or --clip-model): cuts are found, the surface stays as configured"


@dataclass(frozen=True)
class SceneParams:
    clip_model: str = ""  # a folder, a .safetensors file, hf-hub:ORG/REPO or ARCH:TAG ("" = cuts only)
    prompts: str = ""  # a TOML file of label prompts instead of config/scenes.toml
    embed_interval_ms: float = 500.0  # a CLIP embedding this often (and at once on a cut)
    render_lag_ms: float = 200.0  # rendering a file: an embedding is waited for this much media time later
    clip_threads: int = 1  # torch threads for CLIP (the pose workers want the cores)
    clip_process: bool = True  # CLIP in its own process (never holding the engine's GIL); false: on a thread
    clip_nice: int = 10  # CLIP runs this much nicer than the engine, so frames, pose and sound go first
    min_confidence: float = 0.25  # a scene whose surface is less likely than this keeps the surface playing
    footwear_min_confidence: float = 0.5  # footwear is only changed when this sure (feet are often not in view)
    cuts: CutParams = field(default_factory=CutParams)
    tracker: SceneTrackerParams = field(default_factory=SceneTrackerParams)

    def __post_init__(self) -> None:
        if not 50.0 <= self.embed_interval_ms <= 60_000.0:
            raise ValueError("scene embed_interval_ms must lie in 50..60000 ms")
        if self.render_lag_ms < 0.0:
            raise ValueError("scene render_lag_ms must be >= 0")
        if not 0 <= self.clip_nice <= 19:
            raise ValueError("scene clip_nice must lie in 0..19")
        if not 0 <= self.clip_threads <= 64:
            raise ValueError("scene clip_threads must lie in 0..64 (0: torch's default)")
        for name in ("min_confidence", "footwear_min_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"scene {name} must lie in 0..1")


class SceneLabeller:
    """Pictures to unit CLIP embeddings, embeddings to (surface, p, footwear, p). The embedding runs in CLIP's own
    process (`from_process`, what runs use) or on the calling thread (`from_embedder`)."""

    def __init__(self, embed: Callable[[np.ndarray], np.ndarray], surfaces: LabelSet, footwears: LabelSet,
                 name: str = "", close: Callable[[], None] | None = None, load_s: float = 0.0) -> None:
        self.embed, self.surfaces, self.footwears, self.name = embed, surfaces, footwears, name
        self._close = close
        self.load_s = load_s  # from starting to load the model to the prompts embedded

    @classmethod
    def from_embedder(cls, embedder: ClipEmbedder, prompts: Prompts) -> "SceneLabeller":
        def labels(table):
            return LabelSet.from_prompts(table, prompts, embedder.embed_texts, embedder.logit_scale)

        return cls(lambda image: embedder.embed_images([image])[0], labels(prompts.surface),
                   labels(prompts.footwear), embedder.name)

    @classmethod
    def from_process(cls, proc) -> "SceneLabeller":
        """CLIP loaded in a process of its own (a started `ClipProcess`, which may still be loading: this waits);
        ClipUnavailable (one line) when it cannot be."""
        name, scale, (s_names, s_emb), (f_names, f_emb) = proc.wait_ready()
        return cls(proc.embed, LabelSet(s_names, s_emb, scale), LabelSet(f_names, f_emb, scale), name, proc.close,
                   proc.load_s)

    def label(self, embedding: np.ndarray) -> tuple[str, float, str, float]:
        return (*self.surfaces.classify(embedding), *self.footwears.classify(embedding))

    def close(self) -> None:
        if self._close is not None:
            self._close()
            self._close = None


@dataclass(frozen=True)
class SceneRecord:
    """One scene as found: where it starts, what CLIP calls it, and whether the sound changed there."""

    t_ns: int
    surface: str
    surface_score: float
    footwear: str
    footwear_score: float
    at_cut: bool
    distance: float
    changed: bool

    def to_dict(self) -> dict:
        return {"time_s": self.t_ns / 1e9, "t_ns": self.t_ns, "surface": self.surface,
                "surface_score": round(self.surface_score, 4), "footwear": self.footwear,
                "footwear_score": round(self.footwear_score, 4), "at_cut": self.at_cut,
                "distance": round(self.distance, 4), "changed": self.changed}


@dataclass
class SceneLog:
    """What the stage found, for `footfall scene` and the run's summary."""

    cuts: list[int] = field(default_factory=list)
    scenes: list[SceneRecord] = field(default_factory=list)
    changes: list[SceneChange] = field(default_factory=list)
    embeddings: int = 0
    skipped: int = 0  # live: periodic embeddings not made because CLIP was still busy
    frames: int = 0
    frame_ns: int = 0  # time the tap spent on the frames' thread on cuts, hand-offs and tracking ...
    wait_ns: int = 0  # ... and, rendering a file, waiting for CLIP
    clip_load_s: float = 0.0  # loading CLIP and embedding the prompts, before the run (overlapping its start-up)


@dataclass(frozen=True)
class _Job:
    t_ns: int
    image: np.ndarray
    at_cut: bool


class _EmbedWorker:
    """One thread that embeds pictures in the order given; results (or the exception) come back in that order."""

    def __init__(self, labeller: SceneLabeller, nice: int = 0) -> None:
        self.labeller, self.nice = labeller, nice
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.results: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="footfall-clip", daemon=True)
        self._thread.start()

    def submit(self, job: _Job) -> None:
        self._jobs.put(job)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ends the thread after the embedding in hand (a process must not exit while torch runs on a thread: it
        aborts)."""
        self._jobs.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        try:  # Linux: a thread's own niceness (its native id is a task id)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(),
                           min(19, os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) + self.nice))
        except (OSError, AttributeError):
            pass
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                self.results.put((job, self.labeller.embed(job.image)))
            except BaseException as exc:  # noqa: BLE001 - raised again on the frames' thread
                self.results.put((job, exc))
                return


class SceneTap:
    """Wraps a source's items with scene changes. Start surface/footwear: what plays before the first change."""

    def __init__(self, params: SceneParams, labeller: SceneLabeller | None, surface: str, footwear: str) -> None:
        self.params = params
        self.labeller = labeller
        self.surface, self.footwear = surface, footwear
        self.cuts = CutDetector(params.cuts)
        self.tracker = SceneTracker(params.tracker)
        self.log = SceneLog(clip_load_s=labeller.load_s if labeller is not None else 0.0)
        self._interval_ns = int(params.embed_interval_ms * 1e6)
        self._lag_ns = int(params.render_lag_ms * 1e6)
        self._next_embed_ns: int | None = None

    def wrap(self, items: Iterable, live: bool = False) -> Iterator:
        nice = 0 if self.params.clip_process else self.params.clip_nice  # a process is niced as a whole
        worker = _EmbedWorker(self.labeller, nice) if self.labeller is not None else None
        pending: list[_Job] = []  # submitted, result not consumed (offline: all; live: at most one)
        waiting: list[_Job] = []  # live: the request behind the one in flight
        try:
            for item in items:
                if isinstance(item, VideoFrame):
                    t0 = time.perf_counter_ns()
                    out = self._frame(item, worker, pending, waiting, live)
                    self.log.frame_ns += time.perf_counter_ns() - t0
                    yield from out
                elif isinstance(item, EndOfStream) and worker is not None and not live:
                    yield from self._collect(worker, pending, until_ns=None)
                yield item
        finally:
            if worker is not None:
                worker.stop()

    def _frame(self, frame: VideoFrame, worker, pending, waiting, live) -> list[SceneChange]:
        self.log.frames += 1
        cut = self.cuts.push(frame.t_ns, frame.image)
        if cut:
            self.log.cuts.append(frame.t_ns)
        if worker is None:
            return []
        due = self._next_embed_ns is None or frame.t_ns >= self._next_embed_ns
        if cut or due:
            self._next_embed_ns = frame.t_ns + self._interval_ns
            job = _Job(frame.t_ns, frame.image, cut)
            if not live:
                pending.append(job)
                worker.submit(job)
            elif not pending:
                pending.append(job)
                worker.submit(job)
            elif waiting and waiting[0].at_cut and not cut:
                self.log.skipped += 1  # a waiting cut is not replaced by a periodic request
            else:
                self.log.skipped += len(waiting)
                waiting[:] = [job]
        if not live:
            return self._collect(worker, pending, until_ns=frame.t_ns)
        changes = self._collect_ready(worker, pending)
        if not pending and waiting:
            pending.append(waiting.pop())
            worker.submit(pending[0])
        return changes

    def _collect(self, worker, pending, until_ns: int | None) -> list[SceneChange]:
        """Offline: waits for the results due by `until_ns` (a cut's at once, others render_lag_ms later; None:
        all), in order."""
        changes = []
        while pending and (until_ns is None or any(j.at_cut for j in pending)
                           or pending[0].t_ns + self._lag_ns <= until_ns):
            t0 = time.perf_counter_ns()
            result = worker.results.get()
            self.log.wait_ns += time.perf_counter_ns() - t0
            changes += self._consume(*result)
            pending.pop(0)
        return changes

    def _collect_ready(self, worker, pending) -> list[SceneChange]:
        changes = []
        while pending:
            try:
                result = worker.results.get_nowait()
            except queue.Empty:
                break
            changes += self._consume(*result)
            pending.pop(0)
        return changes

    def _consume(self, job: _Job, embedding) -> list[SceneChange]:
        if isinstance(embedding, BaseException):
            raise embedding
        self.log.embeddings += 1
        start = self.tracker.push(job.t_ns, embedding, job.at_cut)
        if start is None:
            return []
        surface, s_score, footwear, f_score = self.labeller.label(start.embedding)
        new_surface = surface if s_score >= self.params.min_confidence else self.surface
        new_footwear = footwear if f_score >= self.params.footwear_min_confidence else self.footwear
        changed = (new_surface, new_footwear) != (self.surface, self.footwear)
        self.log.scenes.append(SceneRecord(start.t_ns, surface, s_score, footwear, f_score, start.at_cut,
                                           start.distance, changed))
        if not changed:
            return []
        change = SceneChange(start.t_ns, new_surface, new_footwear if new_footwear != self.footwear else None,
                             score=s_score)
        self.surface, self.footwear = new_surface, new_footwear
        self.log.changes.append(change)
        return [change]
