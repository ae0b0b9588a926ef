"""Thin stage bodies that put the pure components into the graph: read a channel, call the component, write on.

Each returns a function `body(cancel_event)` for Supervisor.add. Components stay free of threads and queues; the
stages are the only place where messages are routed, so each route is visible here.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Protocol

import numpy as np

from footfall.engine.graph.channel import Channel
from footfall.engine.messages import (AudioBlock, BankChange, EndOfStream, PoseSample, SceneChange, SkeletonSample,
                                      StepEvent, VideoFrame, Watermark, ns_to_samples)
from footfall.engine.mixer.mixer import Mixer
from footfall.engine.pose.pool import PosePool
from footfall.engine.steps.detector import StepDetector

Body = Callable[[threading.Event], None]


def source_stage(items: Callable[[], Iterable], out: Channel) -> Body:
    """Puts every item a source yields (frames or poses, scene changes, then EndOfStream) on `out`."""

    def body(cancel: threading.Event) -> None:
        for item in items():
            if cancel.is_set():
                return
            out.put(item)

    return body


def video_items(frames: Iterable[VideoFrame]) -> Iterator[VideoFrame | EndOfStream]:
    """A video source's frames followed by EndOfStream at the end of the last frame."""
    end = 0
    for frame in frames:
        end = frame.t_ns + frame.duration_ns
        yield frame
    yield EndOfStream(end)


def pose_stage(inp: Channel, out: Channel, pool: PosePool, live: bool = False) -> Body:
    """VideoFrames to PoseSamples through a started worker pool (its owner closes it), in frame order. Offline every
    frame is posed and other messages (scene changes) follow the pose of the frame before them, so they stay in
    stream order; `live` (an input edge that keeps the newest frame: live and serve --frames), each idle worker is
    given the newest frame (`PosePool.map_live`) and other messages pass at once. EndOfStream comes after the last
    pose."""

    def body(cancel: threading.Event) -> None:
        between: list[tuple[int, object]] = []  # offline: (frames before it, item)
        tail: list = []
        seen = [0]

        def frames() -> Iterator[VideoFrame]:
            for item in inp:
                if isinstance(item, VideoFrame):
                    seen[0] += 1
                    yield item
                elif isinstance(item, EndOfStream):
                    tail.append(item)
                elif live:
                    out.put(item)
                else:
                    between.append((seen[0], item))

        posed = 0
        for sample in (pool.map_live if live else pool.map)(frames()):
            while between and between[0][0] <= posed:
                out.put(between.pop(0)[1])
            out.put(sample)
            posed += 1
        for _, item in between:
            out.put(item)
        for item in tail:
            out.put(item)

    return body


class StepListener(Protocol):
    def __call__(self, event: StepEvent) -> None: ...


class Detector(Protocol):
    """What steps_stage drives: StepDetector (screen-space poses) or ContactDetector3D (3-D skeletons)."""

    def push(self, sample) -> list[StepEvent]: ...
    def flush(self) -> list[StepEvent]: ...
    def watermark_ns(self) -> int: ...


def steps_stage(inp: Channel, outs: list[Channel], detector: Detector | StepDetector,
                on_step: StepListener | None = None) -> Body:
    """PoseSamples or SkeletonSamples to StepEvents and Watermarks; other messages are forwarded in order."""

    def send(item) -> None:
        for ch in outs:
            ch.put(item)

    def body(cancel: threading.Event) -> None:
        for item in inp:
            if isinstance(item, (PoseSample, SkeletonSample)):
                for ev in detector.push(item):
                    if on_step is not None:
                        on_step(ev)
                    send(ev)
                send(Watermark(detector.watermark_ns()))
            elif isinstance(item, EndOfStream):
                for ev in detector.flush():
                    if on_step is not None:
                        on_step(ev)
                    send(ev)
                send(item)
            else:
                send(item)

    return body


@dataclass
class SurfaceTimeline:
    """Which surface and footwear are underfoot at a media time, as scene changes arrive."""

    surface: str
    footwear: str
    changes: list[SceneChange] = field(default_factory=list)

    def add(self, change: SceneChange) -> None:
        self.changes.append(change)
        self.changes.sort(key=lambda c: c.t_ns)

    def at(self, t_ns: int, track_id: int | None = None) -> tuple[str, str]:
        """Surface and footwear at `t_ns` for one character (changes for everyone, then for that character)."""
        surface, footwear = self.surface, self.footwear
        for c in self._applying(t_ns, track_id):
            surface = c.surface
            footwear = c.footwear or footwear
        return surface, footwear

    def gain_db(self, t_ns: int, track_id: int | None = None) -> float:
        """The footstep level set for that character (or everyone) at `t_ns`; 0 dB unless a change set one."""
        gain = 0.0
        for c in self._applying(t_ns, track_id):
            gain = c.gain_db if c.gain_db is not None else gain
        return gain

    def _applying(self, t_ns: int, track_id: int | None) -> Iterator[SceneChange]:
        for c in self.changes:
            if c.t_ns > t_ns:
                break
            if c.track_id is None or c.track_id == track_id:
                yield c


def trigger_step(mixer: Mixer, timeline: SurfaceTimeline, step: StepEvent, at_sample: int) -> int:
    """One step's voice, with the surface, footwear and gain its person has at that time (both modes' mixer stages
    schedule through here); returns the frame its first sample plays at."""
    surface, footwear = timeline.at(step.t_ns, step.track_id)
    return mixer.trigger(at_sample, surface, footwear, step.x, step.depth, step.intensity, track_id=step.track_id,
                         gait=step.gait, gain_db=timeline.gain_db(step.t_ns, step.track_id))


@dataclass(frozen=True)
class BankSwap:
    """A bank handed to the mixer: the scene time it is for, the bank's name, how it was had, and the time from the
    scene change (or bank change) reaching the mixer stage to the mixer holding the new bank; `at_sample`: the
    mixer's position then (the block boundary from which new steps play the new bank)."""

    t_ns: int
    bank: str
    how: str
    handover_ns: int
    at_sample: int = 0


class BankSwitcher:
    """Bank changes for the mixer stages, at block boundaries (between renders), never loading in the audio path.

    Scene changes ask the refresher (`bank/refresh.py`) for the bank of the new surface and footwear; bank changes
    (serve's control requests) bring one. Rendering a file, a swap waits for the first step at or after its media
    time (or a watermark past it), so a step just before a cut that is detected after it still plays from the old
    bank; live, it is made at
    once, and banks the refresher loaded in the background are picked up by `poll` on every block. Voices already
    sounding finish from their own bank (`Mixer.set_bank`), so a swap never cuts a sound."""

    def __init__(self, mixer: Mixer, refresher=None, live: bool = False, wait: bool | None = None) -> None:
        """`wait`: whether a scene change waits for its bank to load or render (default: offline only)."""
        self.mixer, self.refresher, self.live = mixer, refresher, live
        self.wait = not live if wait is None else wait
        self._pending: list[tuple[int, object, str, int, int | None]] = []
        self.swaps: list[BankSwap] = []
        self.max_onset = _max_onset(mixer.bank)  # how far ahead of a step its sample may start, in any bank to come

    def scene(self, change: SceneChange, timeline: SurfaceTimeline) -> None:
        if self.refresher is None or change.track_id is not None:
            return
        t0 = time.perf_counter_ns()
        surface, footwear = timeline.at(change.t_ns)
        swap = self.refresher.bank_for(change.t_ns, surface, footwear, wait=self.wait)
        if swap is not None:
            self._add(swap.t_ns, swap.bank, swap.how, t0)

    def bank(self, change: BankChange) -> None:
        """A control request's bank: everyone's, or one character's (`change.track_id`)."""
        self._add(change.t_ns, change.bank, "control", time.perf_counter_ns(), change.track_id)

    def poll(self) -> None:
        """Takes over a bank the refresher loaded in the background (live, and offline when not waiting)."""
        if self.refresher is not None and not self.wait:
            swap = self.refresher.ready()
            if swap is not None:
                self._add(swap.t_ns, swap.bank, swap.how, time.perf_counter_ns())

    def before_step(self, t_ns: int) -> None:
        while self._pending and self._pending[0][0] <= t_ns:
            self._apply(*self._pending.pop(0))

    def _add(self, t_ns: int, bank, how: str, t0: int, track_id: int | None = None) -> None:
        self.max_onset = max(self.max_onset, _max_onset(bank))
        if self.live:
            self._apply(t_ns, bank, how, t0, track_id)
        else:
            self._pending.append((t_ns, bank, how, t0, track_id))
            self._pending.sort(key=lambda p: p[0])

    def _apply(self, t_ns: int, bank, how: str, t0: int, track_id: int | None = None) -> None:
        self.mixer.set_bank(bank, track_id)
        self.swaps.append(BankSwap(t_ns, bank.name, how, time.perf_counter_ns() - t0, self.mixer.position))


def _max_onset(bank) -> int:
    return int(bank.onsets.max()) if len(bank.onsets) else 0


def mixer_stage(inp: Channel, out: Channel, mixer: Mixer, timeline: SurfaceTimeline, banks: BankSwitcher | None = None,
                block: int = 2048) -> Body:
    """Triggers a voice per step and renders audio as far as the watermark allows: every step is scheduled before
    the audio around it is rendered, so offline output is sample-exact however late detection came."""
    sr = mixer.params.sample_rate
    banks = banks if banks is not None else BankSwitcher(mixer)

    def render_to(target: int) -> None:
        while mixer.position < target:
            n = min(block, target - mixer.position)
            start = mixer.position
            out.put(AudioBlock(start, mixer.render(n)))

    def body(cancel: threading.Event) -> None:
        for item in inp:
            banks.poll()
            if isinstance(item, StepEvent):
                banks.before_step(item.t_ns)
                trigger_step(mixer, timeline, item, ns_to_samples(item.t_ns, sr))
            elif isinstance(item, Watermark):
                banks.before_step(item.t_ns)  # no step before the watermark is still to come
                render_to(ns_to_samples(item.t_ns, sr) - banks.max_onset)
            elif isinstance(item, SceneChange):
                timeline.add(item)
                banks.scene(item, timeline)
            elif isinstance(item, BankChange):
                banks.bank(item)
            elif isinstance(item, EndOfStream):
                banks.before_step(item.t_ns)
                render_to(ns_to_samples(item.t_ns, sr))
                out.put(item)

    return body


class AudioSink(Protocol):
    def write(self, block: np.ndarray) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...


def audio_sink_stage(inp: Channel, sink: AudioSink, progress: Callable[[int], None] | None = None) -> Body:
    """Writes audio blocks; finishes the file at end of stream, or as far as it got when cancelled or failed."""

    def body(cancel: threading.Event) -> None:
        finished = False
        try:
            for item in inp:
                if isinstance(item, AudioBlock):
                    sink.write(item.data)
                    if progress is not None:
                        progress(item.end)
                elif isinstance(item, EndOfStream):
                    sink.close()
                    finished = True
        finally:
            if not finished:
                sink.abort()

    return body


class EventSinkLike(Protocol):
    def write(self, event: StepEvent) -> None: ...
    def close(self, summary: dict | None = None) -> None: ...


def event_sink_stage(inp: Channel, sink: EventSinkLike, summary: Callable[[], dict]) -> Body:
    """Writes step events; a sink with a `forward(item)` method also gets the other messages, in order (the serve
    publisher tells clients when a character's stream has been processed)."""
    forward = getattr(sink, "forward", None)

    def body(cancel: threading.Event) -> None:
        try:
            for item in inp:
                if isinstance(item, StepEvent):
                    sink.write(item)
                elif forward is not None:
                    forward(item)
        finally:
            sink.close(summary())

    return body
