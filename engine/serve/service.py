"""`footfall serve`: the engine as a ZeroMQ service, through the same graph builder as render.

    poses (PULL/SUB) ─▶ intake ─SkeletonSample─▶ steps (ContactDetector3D) ─▶ mixer ─AudioBlock─▶ audio (PUB)
    control (REP) ─▶ SceneChange/BankChange ─┘                    └─StepEvent─▶ events (PUB: step/scene/status)

With `frames` (`serve --frames`) pictures come in instead of skeletons, and the graph is the video one:

    frames (PULL) ─▶ FrameIntake ─VideoFrame─▶ pose (worker pool) ─PoseSample─▶ steps (StepDetector, live) ─▶ ...

under the SERVE_FRAMES policy: the video edge keeps the newest picture and pose takes one only when a worker is idle
(pictures that come faster than pose are dropped and counted), while the mixer still renders by the watermark.

There is no wall clock in the graph: the game's timestamps are the media time, the mixer renders up to the
detector's watermark as offline rendering does, and each block is published as soon as it is rendered, so audio
follows the game's clock. Publishing never blocks (PUB high-water marks): a slow subscriber loses messages, the
engine never waits for it.
"""
from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Literal

import zmq

from footfall.bank.open import open_bank
from footfall.engine import config as cfg
from footfall.engine.graph.policy import OFFLINE, SERVE_FRAMES
from footfall.engine.graph.supervisor import Supervisor
from footfall.engine.pose.pool import PosePool
from footfall.engine.render import RenderSettings, RenderSummary, check_vocabulary, run_pipeline
from footfall.engine.serve import security
from footfall.engine.serve.control import ControlHandler
from footfall.engine.serve.frame_intake import FrameIntake
from footfall.engine.serve.intake import IntakeLimits, PoseIntake
from footfall.engine.skeletons import load_schemes
from footfall.engine.steps.contact3d import Contact3DParams, ContactDetector3D
from footfall.engine.steps.detector import StepDetector
from footfall.sinks.zmq_audio import ZmqAudioSink
from footfall.sinks.zmq_events import ZmqEventPublisher
from footfall.sources.video_file import MAX_SIDE
from footfall.sources.zmq_poses import BATCH, intake_items


@dataclass(frozen=True)
class ServeParams:
    poses: str = "tcp://127.0.0.1:5555"
    poses_pattern: Literal["pull", "sub"] = "pull"
    events: str = "tcp://127.0.0.1:5556"
    control: str = "tcp://127.0.0.1:5557"
    audio: str = "tcp://127.0.0.1:5558"
    limits: IntakeLimits = field(default_factory=IntakeLimits)
    receive_hwm: int = 100
    send_hwm: int = 1_000
    skeletons: str = ""
    curve_secret_key: str = ""
    curve_clients: str = ""
    poll_ms: int = 50
    vmc: str = ""  # HOST:PORT to take VMC (OSC over UDP) on, e.g. "127.0.0.1:39539"; "" = off
    vmc_character: str = "vmc"
    switch_interval_ms: float = 5.0  # Python's thread switch interval while serving (bench serve compares)
    frames: str = ""  # PULL endpoint for pictures instead of skeletons (--frames), "tcp://127.0.0.1:5559"; "" = off
    frames_max_side: int = 1920  # pictures larger than this a side are refused; sizes the pose workers' frame slots
    frames_max_bytes: int = 16_777_216  # a picture's payload beyond this is refused (1920x1920 rgb24 is 11 MB)
    frames_receive_hwm: int = 4  # pictures queued on the frames socket before senders wait (x frames_max_bytes)

    def __post_init__(self) -> None:
        if self.poses_pattern not in ("pull", "sub"):
            raise ValueError("serve poses_pattern must be pull or sub")
        if not 0.05 <= self.switch_interval_ms <= 100:
            raise ValueError("serve switch_interval_ms must lie in 0.05..100")
        if min(self.receive_hwm, self.send_hwm, self.poll_ms, self.frames_receive_hwm) < 1:
            raise ValueError("serve receive_hwm, send_hwm, frames_receive_hwm and poll_ms must be at least 1")
        if not 64 <= self.frames_max_side <= MAX_SIDE:
            raise ValueError(f"serve frames_max_side must lie in 64..{MAX_SIDE}")
        if self.frames_max_bytes < 1024:
            raise ValueError("serve frames_max_bytes must be at least 1024")
        if self.frames and self.vmc:
            raise ValueError("serve vmc feeds skeletons into the poses socket; it cannot run beside frames")
        if bool(self.curve_secret_key) != bool(self.curve_clients):
            raise ValueError("serve curve_secret_key and curve_clients go together")
        if self.vmc and (self.vmc.count(":") != 1 or not self.vmc.rsplit(":", 1)[1].isdigit()):
            raise ValueError(f"serve vmc must be HOST:PORT, got {self.vmc!r}")
        if self.vmc and self.poses_pattern != "pull":
            raise ValueError("serve vmc needs poses_pattern = \"pull\" (the bridge pushes into it)")
        endpoints = self.endpoints()
        if len(set(endpoints)) != len(endpoints):
            raise ValueError("serve endpoints must differ")

    def endpoints(self) -> list[str]:
        """The endpoints the service binds: frames take the poses socket's place."""
        return [self.frames or self.poses, self.events, self.control, self.audio]

    @property
    def curve(self) -> bool:
        return bool(self.curve_secret_key)


@dataclass(frozen=True)
class ServeSettings:
    serve: ServeParams
    render: RenderSettings
    steps3d: Contact3DParams

    @classmethod
    def from_config(cls, table: dict, source: str = "config") -> "ServeSettings":
        return cls(cfg.section(table, "serve", ServeParams, source), RenderSettings.from_config(table, source),
                   cfg.section(table, "steps3d", Contact3DParams, source))


def serve(settings: ServeSettings, bank_spec: str | None = None, insecure: bool = False,
          stop: threading.Event | None = None, on_ready: Callable[[dict], None] | None = None,
          scenes: str | None = None) -> RenderSummary:
    """Runs until a shutdown request or `stop`. Raises SecurityError, SkeletonError, BankError, ConfigError or
    zmq.ZMQError (an endpoint in use) before anything is bound or after everything is closed. `scenes`: a folder of
    banks; a request that sets everyone's surface then swaps in the folder's bank for it (loaded in the background,
    never waited for)."""
    p = settings.serve
    security.check_endpoints(p.endpoints(), p.curve, insecure)
    if p.vmc:
        security.check_vmc(p.vmc, p.curve, insecure)
    schemes = load_schemes(p.skeletons or None)
    keys = security.load_secret(p.curve_secret_key) if p.curve else None
    bank = open_bank(bank_spec)
    plan = None
    if scenes is not None:
        from footfall.bank.refresh import BankRefresher
        from footfall.engine.scene.plan import ScenePlan

        refresher = BankRefresher(Path(scenes), bank, settings.render.refresh)
        bank = refresher.open(settings.render.render.surface, settings.render.render.footwear)
        plan = ScenePlan(None, refresher, wait_for_banks=False)
    check_vocabulary(bank, settings.render.render)
    stop = threading.Event() if stop is None else stop
    interval = sys.getswitchinterval()
    sys.setswitchinterval(p.switch_interval_ms / 1000)
    ctx = zmq.Context()
    auth = None
    sockets: list[zmq.Socket] = []
    stoppers: list[Callable[[], None]] = []
    try:
        if p.curve:
            auth = security.start_authenticator(ctx, p.curve_clients)

        def socket(kind: int, endpoint: str, receive_hwm: int = p.receive_hwm,
                   max_bytes: int = p.limits.max_message_bytes) -> zmq.Socket:
            s = ctx.socket(kind)
            sockets.append(s)
            s.linger = 0
            s.rcvhwm = receive_hwm
            s.sndhwm = p.send_hwm
            s.maxmsgsize = 2 * max_bytes  # larger still ends the sender's connection, uncounted
            if keys is not None:
                security.make_server(s, keys)
            s.bind(endpoint)
            return s

        pool: PosePool | None = None
        if p.frames:
            pool = PosePool(settings.render.pose, *FrameIntake.analysis_bound(settings.render.source,
                                                                              p.frames_max_side))
            stoppers.append(pool.close)
            inp = socket(zmq.PULL, p.frames, p.frames_receive_hwm, p.frames_max_bytes)
        else:
            inp = socket(zmq.PULL if p.poses_pattern == "pull" else zmq.SUB, p.poses)
            if p.poses_pattern == "sub":
                inp.setsockopt(zmq.SUBSCRIBE, b"")
        events = socket(zmq.PUB, p.events)
        control = socket(zmq.REP, p.control)
        audio = socket(zmq.PUB, p.audio)
        if p.vmc:
            from footfall.sources.vmc import VmcBridge

            host, port = p.vmc.rsplit(":", 1)
            vmc = VmcBridge(host, int(port), p.poses, p.vmc_character)
            vmc.start(ctx)
            stoppers.append(vmc.stop)
        intake = (FrameIntake(settings.render.source, p.frames_max_side, p.frames_max_bytes,
                              p.limits.max_message_bytes) if p.frames else PoseIntake(schemes, p.limits))
        publisher = ZmqEventPublisher(events, intake.name_of, intake.arrival_ns)
        mixer = settings.render.mixer
        audio_sink = ZmqAudioSink(audio, mixer.sample_rate, mixer.channels)
        # pictures: the causal screen-space detector, whatever [steps] mode says (a service cannot look ahead)
        detector = (StepDetector(replace(settings.render.steps, mode="live")) if p.frames
                    else ContactDetector3D(settings.steps3d))
        cancel = threading.Event()
        sup = Supervisor(cancel)

        def status() -> dict:
            doc = {"media_ns": intake.newest_ns, "counters": dict(intake.counters),
                   "published": dict(publisher.published), "publish_dropped": publisher.dropped,
                   "audio_frames": audio_sink.position, "audio_dropped": audio_sink.dropped,
                   "limits": vars(p.limits), "engine_latency": publisher.latency(),
                   "health": {"graph": "running", "watermark_ns": detector.watermark_ns()}}
            if isinstance(intake, FrameIntake):
                doc["frames"] = {"received": intake.counters["frames"],
                                 "dropped": sum(ch.dropped for ch in sup.channels if ch.policy == "latest"),
                                 "posed_ns": detector.newest_ns, "max_side": p.frames_max_side,
                                 "max_bytes": p.frames_max_bytes, "analysis_bound": list(intake.analysis_shape)}
            else:
                doc["characters"] = {c.name: {"track_id": c.track_id, "scheme": c.scheme}
                                     for c in intake.characters.values()}
                doc["health"]["tracked"] = detector.characters
            return doc

        handler = ControlHandler(intake, bank, settings.render.render.surface, settings.render.render.footwear,
                                 status, open_bank, publisher.status,
                                 (lambda: set().union(*(b.pairs for b in plan.refresher.catalog.banks)))
                                 if plan is not None else None)
        if on_ready is not None:
            on_ready({**({"frames": p.frames} if p.frames else {"poses": p.poses}), "events": p.events,
                      "control": p.control, "audio": p.audio, **({"vmc": f"udp://{p.vmc}"} if p.vmc else {})})
        batch = 1 if p.frames else BATCH
        return run_pipeline(lambda: intake_items(inp, control, intake, handler, publisher, stop, cancel, p.poll_ms,
                                                 batch),
                            settings.render, audio_sink, publisher, bank, source_name="serve", detector=detector,
                            keep_events=False, cancel_event=cancel, step_listener=publisher.step,
                            pose_pool=pool, policy=SERVE_FRAMES if p.frames else OFFLINE,
                            sup=sup, scenes=plan)
    finally:
        if plan is not None:
            plan.close()
        for stop_one in stoppers:
            stop_one()
        for s in sockets:
            s.close(0)
        if auth is not None:
            auth.stop()
        ctx.term()
        sys.setswitchinterval(interval)
