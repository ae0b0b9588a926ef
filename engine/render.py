"""The file-to-file render pipeline: video in, footsteps rendered, audio/video/events out, faster than real time.

    source ──VideoFrame──▶ pose (worker processes) ──PoseSample──▶ steps ──StepEvent/Watermark──▶ mixer ──AudioBlock──▶ sink
                                                                      └──StepEvent──▶ events file
With `[pose] max_people` (`--people`) above 1 the pose workers find several people and the pool names each with a
stable id, so every person gets their own steps. With `--scenes` the scene tap (`engine/scene/stage.py`) runs on the
source's thread and puts SceneChanges into the stream; the mixer stage's BankSwitcher asks the refresher
(`bank/refresh.py`) for each new surface's bank and swaps it in at a block boundary.
The same builder runs live (`footfall live`) under `GraphPolicy` LIVE: the video edge keeps the newest frame, pose
takes one when a worker is idle, the sound card's clock paces the mixer (`engine/live_stages.py`); `footfall serve
--frames` under SERVE_FRAMES: the same video edge and pose, the mixer rendering by the watermark as offline.
Offline policy: every channel blocks when full, nothing is dropped. Outputs are opened before any work starts, so an
unwritable path fails at once; they are written under partial names (sinks/staging.py) and renamed into place when the
render succeeds, so a failed or cancelled render never replaces an existing file; on cancel or failure every sink
finishes its partial file as far as it got. The pose workers are
started first; the bank loads on a thread meanwhile, and the mixer's kernels after it while the first frames are
decoded, so start-up costs overlap; a render's wall time counts from that start.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Literal

from footfall.bank.open import open_bank
from footfall.bank.refresh import RefreshParams
from footfall.bank.sample_bank import Bank
from footfall.engine import config as cfg
from footfall.engine.graph.policy import OFFLINE, GraphPolicy
from footfall.engine.graph.supervisor import Supervisor
from footfall.engine.messages import StepEvent, VideoFrame
from footfall.engine.live_stages import device_mixer_stage, recorder_stage
from footfall.engine.mixer.mixer import Mixer, MixerParams, warm_up
from footfall.engine.pose.mediapipe_pose import PoseParams
from footfall.engine.pose.pool import PosePool
from footfall.engine.progress import Progress
from footfall.engine.scene.stage import SceneParams
from footfall.engine.stages import (BankSwap, BankSwitcher, Detector, SurfaceTimeline, audio_sink_stage,
                                    event_sink_stage, mixer_stage, pose_stage, source_stage, steps_stage, video_items)
from footfall.engine.steps.detector import StepDetector, StepParams
from footfall.sinks.audio_file import AudioFileSink
from footfall.sinks.errors import SinkError
from footfall.sinks.events import EventSink
from footfall.sinks.staging import StagedOutputs
from footfall.sinks.video_mux import VideoMuxSink
from footfall.sources.video_file import VideoFileSource, VideoInfo, VideoSourceParams

AUDIO_SUFFIXES = (".wav", ".flac")
VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv")


@dataclass(frozen=True)
class RenderParams:
    surface: str = "concrete"
    footwear: str = "sneaker"
    original_audio: Literal["track", "mix", "drop"] = "track"
    channel_capacity: int = 8


@dataclass(frozen=True)
class RenderSettings:
    """Every component's parameters for one render, read from the merged config."""

    render: RenderParams
    source: VideoSourceParams
    pose: PoseParams
    steps: StepParams
    mixer: MixerParams
    scene: SceneParams = SceneParams()
    refresh: RefreshParams = RefreshParams()

    @classmethod
    def from_config(cls, table: dict, source_name: str = "config") -> "RenderSettings":
        return cls(
            render=cfg.section(table, "render", RenderParams, source_name),
            source=cfg.section(table, "source", VideoSourceParams, source_name),
            pose=cfg.section(table, "pose", PoseParams, source_name),
            steps=cfg.section(table, "steps", StepParams, source_name),
            mixer=cfg.section(table, "mixer", MixerParams, source_name),
            scene=cfg.section(table, "scene", SceneParams, source_name),
            refresh=cfg.section(table, "refresh", RefreshParams, source_name),
        )

    def with_clip_model(self, clip_model: str | None) -> "RenderSettings":
        """These settings with `--clip-model` (None: as configured)."""
        return self if clip_model is None else replace(self, scene=replace(self.scene, clip_model=clip_model))

    def with_people(self, max_people: int | None) -> "RenderSettings":
        """These settings tracking up to `max_people` people (None: as configured); a bad count is a ConfigError."""
        if max_people is None:
            return self
        try:
            return replace(self, pose=replace(self.pose, max_people=max_people))
        except ValueError as exc:
            raise cfg.ConfigError(f"--people: {exc}") from None


@dataclass(frozen=True)
class RenderSummary:
    steps: int
    media_s: float
    wall_s: float
    events: tuple[StepEvent, ...] = ()
    damaged: int = 0  # packets that did not decode and pictures whose time did not follow, skipped
    scenes: object = None  # with --scenes: the scene stage's SceneLog (cuts, scenes, changes)
    bank_swaps: tuple[BankSwap, ...] = ()

    @property
    def speed(self) -> float:
        return self.media_s / max(self.wall_s, 1e-9)


def open_audio_output(video: Path, output: Path, sample_rate: int, original_audio: str):
    suffix = output.suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        return AudioFileSink(output, sample_rate, 2)
    if suffix in VIDEO_SUFFIXES:
        return VideoMuxSink(video, output, sample_rate, 2, original_audio=original_audio)
    raise SinkError(output, f"unsupported output type '{output.suffix}' (use {', '.join(AUDIO_SUFFIXES + VIDEO_SUFFIXES)})")


def run_pipeline(items: Callable[[], Iterable], settings: RenderSettings, sink, events_sink: EventSink | None,
                 bank: Bank, progress: Progress | None = None, frame_shape: tuple[int, int] | None = None,
                 source_name: str = "", pose_pool: PosePool | None = None,
                 started_at: float | None = None, detector: Detector | None = None, keep_events: bool = True,
                 cancel_event: threading.Event | None = None,
                 step_listener: Callable[[StepEvent], None] | None = None, policy: GraphPolicy = OFFLINE,
                 live_stats=None, record_sink=None, sup: Supervisor | None = None, scenes=None) -> RenderSummary:
    """Runs the graph from a source's items to the sinks. With `frame_shape` (or a started `pose_pool`, which the
    caller closes) the items are VideoFrames and pose runs in worker processes; without, they are PoseSamples already
    (a pose stream), or SkeletonSamples for a 3-D `detector` (default: StepDetector on settings.steps). Scene changes
    and the final EndOfStream travel with the items. `started_at` (a `time.perf_counter()` reading) is where the
    summary's wall time counts from; by default, from here. `keep_events=False` only counts steps (a service that
    runs for days); `cancel_event` is set when the graph is cancelled (for a source waiting on a socket);
    `step_listener` is called on the steps stage's thread with each step as it is detected (serve publishes there:
    no thread hop between detection and the network).
    `policy` chooses the mode's edges and clock: OFFLINE writes `sink` (an audio file or video); LIVE plays on
    `sink`, a SoundCardSink, notes every step's timing in `live_stats` (a LiveStats) and writes what was played
    to `record_sink` if given. `sup`: a Supervisor to build into (a caller that reads its channels' counters).
    `scenes` (a ScenePlan, `--scenes`): its tap finds scene changes in the frames on the source's thread and puts
    them into the stream (serve's plan has no tap: its control requests make the changes), and its refresher swaps
    the mixer's bank for each new surface."""
    t0 = time.perf_counter() if started_at is None else started_at
    own_pool = pose_pool is None and frame_shape is not None
    if own_pool:
        pose_pool = PosePool(settings.pose, *frame_shape)
    try:
        return _run_graph(items, settings, sink, events_sink, bank, progress, source_name, pose_pool, t0,
                          detector, keep_events, cancel_event, step_listener, policy, live_stats, record_sink,
                          sup or Supervisor(cancel_event), scenes)
    finally:
        if own_pool and pose_pool is not None:
            pose_pool.close()


def _run_graph(items: Callable[[], Iterable], settings: RenderSettings, sink, events_sink: EventSink | None,
               bank: Bank, progress: Progress | None, source_name: str, pose_pool: PosePool | None,
               t0: float, detector: Detector | None, keep_events: bool, cancel_event: threading.Event | None,
               step_listener: Callable[[StepEvent], None] | None, policy: GraphPolicy, live_stats, record_sink,
               sup: Supervisor, scenes) -> RenderSummary:
    mixer = Mixer(settings.mixer, bank)
    banks = BankSwitcher(mixer, scenes.refresher if scenes is not None else None, live=policy.live,
                         wait=None if scenes is None else scenes.wait_for_banks)
    sr = settings.mixer.sample_rate
    steps: list[StepEvent] = []
    count = {"steps": 0}
    lock = threading.Lock()

    def on_step(ev: StepEvent) -> None:
        if step_listener is not None:
            step_listener(ev)
        if live_stats is not None:
            live_stats.emitted(ev)
        with lock:
            count["steps"] += 1
            if keep_events:
                steps.append(ev)
            if progress is not None:
                progress.steps = count["steps"]

    cap = settings.render.channel_capacity
    first = sup.channel("source", policy.video_capacity or cap, policy.video_edge,
                        keep=lambda item: not isinstance(item, VideoFrame))
    source_items = items if live_stats is None else (lambda: live_stats.watch(items()))
    if scenes is not None and scenes.tap is not None:
        framed = source_items
        source_items = lambda: scenes.tap.wrap(framed(), live=policy.live)  # noqa: E731
    sup.add("source", source_stage(source_items, first), [first])
    poses = first
    if pose_pool is not None:
        poses = sup.channel("poses", cap * 4)
        sup.add("pose", pose_stage(first, poses, pose_pool, live=policy.newest_frames), [poses])
    to_mixer = sup.channel("steps", cap * 64)
    outs = [to_mixer]
    to_events = None
    if events_sink is not None:
        to_events = sup.channel("events", cap * 64)
        outs.append(to_events)
    timeline = SurfaceTimeline(settings.render.surface, settings.render.footwear)
    detector = StepDetector(settings.steps) if detector is None else detector
    sup.add("steps", steps_stage(poses, outs, detector, on_step), outs)
    done = {"end": 0}
    if policy.live:
        sup.add("mixer", device_mixer_stage(to_mixer, sink, mixer, timeline, live_stats, banks))
        if record_sink is not None:
            sup.add("record", recorder_stage(sink, record_sink))
    else:
        audio = sup.channel("audio", cap)
        sup.add("mixer", mixer_stage(to_mixer, audio, mixer, timeline, banks), [audio])

        def advanced(end_sample: int) -> None:
            done["end"] = end_sample
            if progress is not None:
                progress.advance(end_sample / sr)

        sup.add("output", audio_sink_stage(audio, sink, advanced))
    if events_sink is not None and to_events is not None:
        sup.add("events", event_sink_stage(to_events, events_sink, lambda: {
            "source": source_name, "steps": count["steps"], "mode": settings.steps.mode}))
    sup.run(on_poll=progress.draw if progress is not None else None)
    if policy.live:
        done["end"] = mixer.position
    return RenderSummary(count["steps"], done["end"] / sr, time.perf_counter() - t0, tuple(steps),
                         scenes=scenes.tap.log if scenes is not None and scenes.tap is not None else None,
                         bank_swaps=tuple(banks.swaps))


def check_vocabulary(bank: Bank, params: RenderParams) -> None:
    """A surface or footwear the bank lacks is a typo to report, not a reason to play something else."""
    if params.surface not in bank.surfaces:
        raise cfg.ConfigError(f"surface '{params.surface}' is not in bank '{bank.name}' "
                              f"(have: {', '.join(bank.surfaces)})")
    if params.footwear not in bank.footwears:
        raise cfg.ConfigError(f"footwear '{params.footwear}' is not in bank '{bank.name}' "
                              f"(have: {', '.join(bank.footwears)})")


def stage_outputs(video: Path, output: Path, events_path: Path | None) -> StagedOutputs:
    """The run's outputs under their partial names; an output that would overwrite the input is refused."""
    for path in (output, events_path):
        if path is not None and Path(path).resolve() == Path(video).resolve():
            raise SinkError(path, "output would overwrite the input video")
    return StagedOutputs([output] + ([events_path] if events_path is not None else []))


def open_outputs(video: Path, output: Path, settings: RenderSettings, events_path: Path | None):
    """Opens the audio/video output and the events file before any work, so a bad path fails at once."""
    sink = open_audio_output(video, output, settings.mixer.sample_rate, settings.render.original_audio)
    try:
        events_sink = EventSink(events_path) if events_path is not None else None
    except BaseException:
        sink.abort()
        raise
    return sink, events_sink


def open_staged_outputs(video: Path, staged: StagedOutputs, output: Path, settings: RenderSettings,
                        events_path: Path | None):
    """`open_outputs` on the partial names of `staged`; a failure names the final path and leaves no partial file."""
    try:
        return open_outputs(video, staged.path(output), settings,
                            staged.path(events_path) if events_path is not None else None)
    except SinkError as exc:
        staged.discard()
        raise SinkError(staged.final_of(exc.path), exc.problem) from None
    except BaseException:
        staged.discard()
        raise


def render_file(video: Path, output: Path, settings: RenderSettings, events_path: Path | None = None,
                bank_spec: str | None = None, progress: Progress | None = None,
                staged: StagedOutputs | None = None, info: VideoInfo | None = None, scenes: str | None = None,
                notice: Callable[[str], None] | None = None) -> RenderSummary:
    """Renders `video`'s footsteps into `output` (and the events into `events_path`), written under the partial names
    of `staged` and moved into place once the render succeeds. Raises SourceError/SinkError/BankError/StageFailed on
    failure and KeyboardInterrupt on cancel, with every partial output finished as far as it got (`staged.kept()`);
    a failure before rendering began leaves none. `info`: the caller's `probe` of `video`, if it made one.
    `scenes` (`--scenes`): None off; "" scene changes with `bank_spec`'s bank; a folder of banks to swap between.
    `notice` gets the one line saying why scenes go unlabelled (no CLIP model), if so."""
    started_at = time.perf_counter()
    staged = staged if staged is not None else stage_outputs(video, output, events_path)
    source = VideoFileSource(video, settings.source, info)
    plan = None
    clip = start_clip(settings.scene) if scenes is not None else None  # loads while the workers start
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="footfall-prepare") as prepare:
            bank_loaded = prepare.submit(open_bank, bank_spec)
            prepare.submit(warm_up, settings.mixer)  # the mixer's first block waits for it, if it must
            with PosePool(settings.pose, *source.analysis_shape) as pool:  # workers start while the bank loads
                bank = bank_loaded.result()
                if scenes is not None:
                    plan, bank = open_scenes(settings, scenes, bank, notice, clip)
                try:
                    check_vocabulary(bank, settings.render)
                    sink, events_sink = open_staged_outputs(video, staged, output, settings, events_path)
                    summary = run_pipeline(lambda: video_items(source.frames()), settings, sink, events_sink, bank,
                                           progress, source_name=str(video), pose_pool=pool, started_at=started_at,
                                           scenes=plan)
                finally:
                    if plan is not None:
                        plan.close()
    finally:
        if plan is None and clip is not None:  # failed before the plan took it over
            clip.close()
    staged.commit()
    return replace(summary, damaged=source.damaged)


def start_clip(params: SceneParams):
    """`--scenes`: CLIP starts loading in its own process before anything else (`engine/scene/plan.py`)."""
    from footfall.engine.scene.plan import start_clip as start

    return start(params)


def open_scenes(settings: RenderSettings, scenes: str, bank: Bank, notice: Callable[[str], None] | None,
                clip=None):
    """The scene plan for `--scenes [FOLDER]` and the bank to open with (render and live share this); `clip`: what
    `start_clip` began."""
    from footfall.engine.scene.plan import prepare_scenes

    plan, opening = prepare_scenes(settings.scene, settings.refresh, Path(scenes) if scenes else None, bank,
                                   settings.render.surface, settings.render.footwear, clip)
    if plan.notice and notice is not None:
        notice(plan.notice)
    return plan, opening
