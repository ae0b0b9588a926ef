"""Pose inference in worker processes, results handed back in frame order.

MediaPipe holds the GIL, so threads don't scale; processes do (about 1.9x on two cores). Frames go to the workers
round-robin through shared-memory slots (no pickling of pixels); each worker keeps its own tracker, so each sees every
Nth frame, which keeps tracking continuous at ordinary frame rates. Workers ignore SIGINT: the main process decides
how a cancel ends.

Workers fork from a forkserver that has imported what the estimator needs once (`PoseParams.preload`: LiteRT and
OpenCV, about 0.2 s; or MediaPipe, about 1.4 s of CPU, most of it matplotlib pulled in by its drawing utilities),
instead of each spawned worker importing it again: on a 2-core machine that import competes with everything else
starting up. The forkserver is shared by every pool in a process and keeps the first pool's preload; workers import
anything else themselves. Where forkserver is unavailable, workers are spawned.

With `max_people` above 1 the workers' persons come unnamed and unordered; the pool names them with a `PersonTracker`
on its frame-ordered output, the one place every caller (render, bench, pose extraction) reads poses from, and the
only one that sees every frame. The Tasks PoseLandmarker's `.task` bundle (backend "mediapipe" with several people)
is built here, before any worker starts, so two workers never race to write it.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import resource
import signal
import threading
from collections import deque
from multiprocessing import shared_memory
from typing import Iterable, Iterator

import numpy as np

from footfall.engine.messages import PoseSample, VideoFrame
from footfall.engine.pose.mediapipe_pose import PoseParams, pose_estimator
from footfall.engine.pose.person_tracker import PersonTracker
from footfall.engine.pose.task_bundle import PoseModelMissing, pose_task_bundle


class PoseWorkerError(RuntimeError):
    pass


def worker_context(start_method: str | None = None, preload: tuple[str, ...] = ()) -> mp.context.BaseContext:
    """The multiprocessing context pose workers start from: a forkserver with `preload` imported where available.
    The forkserver is shared by every pool in this process, so only the first pool pays for the import."""
    method = start_method or ("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")
    ctx = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(list(preload))
    return ctx


def _silence_native_logs() -> None:
    """MediaPipe's C++ side prints start-up chatter on stderr; worker errors travel back through the result queue."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _worker(params: PoseParams, bundle_path: str, shm_name: str, slot_shape: tuple[int, int, int], slots: int,
            tasks: "mp.Queue", results: "mp.Queue") -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _silence_native_logs()
    shm = shared_memory.SharedMemory(name=shm_name)
    try:
        ring = np.ndarray((slots, *slot_shape), dtype=np.uint8, buffer=shm.buf)
        pose = pose_estimator(params, bundle_path)
        while True:
            task = tasks.get()
            if task is None:
                break
            slot, h, w, frame_index, t_ns, width, height = task
            try:
                sample = pose.process(ring[slot, :h, :w], frame_index, t_ns, width, height)
                results.put((slot, sample, None))
            except Exception as exc:  # noqa: BLE001 - reported to the parent, which owns the error policy
                results.put((slot, None, f"pose failed on frame {frame_index}: {exc}"))
        pose.close()
    finally:
        del ring
        shm.close()


class PosePool:
    """`map(frames)` yields one PoseSample per frame, in order, computed by `params.workers` processes; with
    `params.max_people` above 1 each map is one stream whose persons get stable ids from a fresh PersonTracker."""

    def __init__(self, params: PoseParams, max_height: int, max_width: int, start_method: str | None = None) -> None:
        self.params = params
        bundle_path = ""
        if params.uses_tasks:
            try:
                bundle_path = str(pose_task_bundle())
            except PoseModelMissing as exc:
                raise PoseWorkerError(str(exc)) from None
        self._slots = params.workers * params.in_flight_per_worker
        self._shape = (max_height, max_width, 3)
        size = self._slots * max_height * max_width * 3
        file_limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
        if file_limit != resource.RLIM_INFINITY and size > file_limit:  # trying would leave the stdlib's tracker noise
            raise PoseWorkerError(f"cannot make the {size / 2**20:.0f} MiB shared frame buffer for the pose workers: "
                                  f"the file size limit is {file_limit} bytes (ulimit -f)")
        try:
            self._shm = shared_memory.SharedMemory(create=True, size=size)
        except OSError as exc:
            raise PoseWorkerError(f"cannot make the {size / 2**20:.0f} MiB shared frame buffer for the pose workers: "
                                  f"{exc.strerror or exc}") from None
        self._ring = np.ndarray((self._slots, *self._shape), dtype=np.uint8, buffer=self._shm.buf)
        ctx = worker_context(start_method, params.preload)
        self._results: mp.Queue = ctx.Queue()
        self._tasks = [ctx.Queue() for _ in range(params.workers)]
        self._procs = [
            ctx.Process(target=_worker, name=f"footfall-pose-{i}", daemon=True,
                        args=(params, bundle_path, self._shm.name, self._shape, self._slots, q, self._results))
            for i, q in enumerate(self._tasks)
        ]
        for p in self._procs:
            p.start()

    def map(self, frames: Iterable[VideoFrame], poll_s: float = 0.5) -> Iterator[PoseSample]:
        tracker = PersonTracker(self.params.tracking) if self.params.several else None
        free = list(range(self._slots))
        pending: dict[int, PoseSample] = {}
        order: deque[int] = deque()
        submitted = 0
        it = iter(frames)
        exhausted = False
        while True:
            while free and not exhausted:
                try:
                    frame = next(it)
                except StopIteration:
                    exhausted = True
                    break
                h, w = frame.image.shape[:2]
                if h > self._shape[0] or w > self._shape[1]:
                    raise PoseWorkerError(f"frame {frame.index} is {w}x{h}, larger than the pool's slots")
                slot = free.pop()
                self._ring[slot, :h, :w] = frame.image
                self._tasks[submitted % len(self._tasks)].put(
                    (slot, h, w, frame.index, frame.t_ns, frame.width, frame.height))
                order.append(frame.index)
                submitted += 1
            if not order and exhausted:
                if tracker is not None:
                    yield from tracker.flush()
                return
            slot, sample, error = self._get_result(poll_s)
            free.append(slot)
            if error is not None:
                raise PoseWorkerError(error)
            pending[sample.frame_index] = sample
            while order and order[0] in pending:
                sample = pending.pop(order.popleft())
                if tracker is None:
                    yield sample
                else:
                    yield from tracker.push(sample)

    def map_live(self, frames: Iterable[VideoFrame], poll_s: float = 0.5) -> Iterator[PoseSample]:
        """`map` for a live source: a frame is taken from `frames` only once a worker is idle, and given to that
        worker, so no frame waits in a worker's queue going stale while a newer one arrives (the source's edge keeps
        only the newest). One frame per worker in flight; samples come out in frame order as soon as they are done.
        `frames` is read on a helper thread; whatever it raises (a cancel) is raised here."""
        tracker = PersonTracker(self.params.tracking) if self.params.several else None
        idle: queue.PriorityQueue[int] = queue.PriorityQueue()  # the first idle worker takes the frame, so at low
        for worker in range(len(self._tasks)):  # rates one worker sees consecutive frames and keeps its tracking
            idle.put(worker)  # worker i uses slot i
        order: deque[int] = deque()
        lock = threading.Lock()
        state = {"submitted": 0, "done": False, "error": None}
        stop = threading.Event()

        def feed() -> None:
            try:
                it = iter(frames)
                while not stop.is_set():
                    try:
                        worker = idle.get(timeout=poll_s)
                    except queue.Empty:
                        continue
                    frame = next(it, None)
                    if frame is None or stop.is_set():
                        return
                    h, w = frame.image.shape[:2]
                    if h > self._shape[0] or w > self._shape[1]:
                        raise PoseWorkerError(f"frame {frame.index} is {w}x{h}, larger than the pool's slots")
                    self._ring[worker, :h, :w] = frame.image
                    with lock:
                        order.append(frame.index)
                        state["submitted"] += 1
                    self._tasks[worker].put((worker, h, w, frame.index, frame.t_ns, frame.width, frame.height))
            except BaseException as exc:  # noqa: BLE001 - re-raised on the consuming thread
                state["error"] = exc
            finally:
                state["done"] = True

        feeder = threading.Thread(target=feed, name="footfall-pose-feed", daemon=True)
        feeder.start()
        pending: dict[int, PoseSample] = {}
        try:
            while True:
                with lock:
                    in_flight = len(order)
                if state["error"] is not None:
                    raise state["error"]
                if state["done"] and in_flight == 0:
                    return
                try:
                    slot, sample, error = self._results.get(timeout=min(poll_s, 0.05))
                except queue.Empty:
                    dead = [p for p in self._procs if not p.is_alive()]
                    if dead:
                        raise PoseWorkerError(f"pose worker {dead[0].name} died (exit code {dead[0].exitcode})")
                    continue
                if error is not None:
                    raise PoseWorkerError(error)
                pending[sample.frame_index] = sample
                ready = []
                with lock:
                    while order and order[0] in pending:
                        ready.append(pending.pop(order.popleft()))
                idle.put(slot)
                for sample in ready:
                    yield sample if tracker is None else tracker.update(sample)
        finally:
            stop.set()
            feeder.join(timeout=2 * poll_s)

    @property
    def worker_pids(self) -> tuple[int, ...]:
        return tuple(p.pid for p in self._procs if p.pid is not None)

    def _get_result(self, poll_s: float):
        while True:
            try:
                return self._results.get(timeout=poll_s)
            except queue.Empty:
                dead = [p for p in self._procs if not p.is_alive()]
                if dead:
                    raise PoseWorkerError(f"pose worker {dead[0].name} died (exit code {dead[0].exitcode})") from None

    def close(self) -> None:
        for q in self._tasks:
            try:
                q.put(None)
            except (ValueError, OSError):
                pass
        for p in self._procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
        del self._ring
        self._shm.close()
        self._shm.unlink()

    def __enter__(self) -> "PosePool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
