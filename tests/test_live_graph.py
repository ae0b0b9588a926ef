"""The one graph under the LIVE policy: a pose stage slower than the source drops frames at the video edge (never
control messages) and latency stays bounded; the sound card's clock paces the mixer; the record is exactly what the
card played. Pose here is a deliberately slow stand-in that returns the procedural walkers' true poses."""
import threading
import time

import av
import numpy as np

from footfall.engine import config as cfg
from footfall.engine.demo import scene_items
from footfall.engine.graph.channel import Channel
from footfall.engine.graph.policy import LIVE
from footfall.engine.graph.supervisor import Supervisor
from footfall.engine.live import dropped_frames
from footfall.engine.live_stats import LiveStats
from footfall.engine.messages import EndOfStream, PoseSample, SceneChange, VideoFrame
from footfall.engine.render import RenderSettings, run_pipeline
from footfall.sinks.audio_file import AudioFileSink
from footfall.sinks.sound_card import SoundCardParams, SoundCardSink
from footfall.sources.procedural_walkers import ProceduralWalkers, WalkerSceneParams
from fake_output import factory
from test_render_pipeline import click_bank

SR = 48000


class SlowPose:
    """Takes a frame only when idle, like PosePool.map_live, and spends `seconds` on each."""

    def __init__(self, samples: list[PoseSample], seconds: float) -> None:
        self.samples, self.seconds, self.posed = samples, seconds, 0

    def map_live(self, frames):
        for frame in frames:
            time.sleep(self.seconds)
            self.posed += 1
            yield self.samples[frame.index]


def paced_items(walkers: ProceduralWalkers):
    """The walkers as a live camera would deliver them: a small frame per pose at its media time, scene changes
    in between, then the end of the stream."""
    start = time.monotonic_ns()
    for item in scene_items(walkers):
        if isinstance(item, PoseSample):
            wait = start + item.t_ns - time.monotonic_ns()
            if wait > 0:
                time.sleep(wait / 1e9)
            yield VideoFrame(item.frame_index, item.t_ns, 16_666_667, item.width, item.height,
                             np.zeros((4, 4, 3), np.uint8), time.monotonic_ns())
        else:
            yield item


def live_settings() -> RenderSettings:
    return RenderSettings.from_config(cfg.load("live"))


def run_live_graph(walkers, pose_seconds, tmp_path, record=True):
    samples = list(walkers.samples())
    pose = SlowPose(samples, pose_seconds)
    sup = Supervisor()
    output = SoundCardSink(SoundCardParams(block=256), SR, 2, record=record, stream_factory=factory())
    recorded = AudioFileSink(tmp_path / "played.wav", SR, 2) if record else None
    stats = LiveStats()
    summary = run_pipeline(lambda: paced_items(walkers), live_settings(), output, None, click_bank(), pose_pool=pose,
                           policy=LIVE, live_stats=stats, record_sink=recorded, sup=sup)
    return summary, stats.summary(dropped_frames(sup), output), output, pose


def test_a_slow_pose_stage_drops_frames_at_the_video_edge_and_latency_holds(tmp_path):
    walkers = ProceduralWalkers(WalkerSceneParams(fps=60.0, duration_s=5.0))
    summary, doc, output, pose = run_live_graph(walkers, 0.04, tmp_path)
    frames = len(list(walkers.samples()))
    assert doc["frames_dropped"] > frames // 3  # pose saw at most 25 of every 60 frames a second
    assert pose.posed + doc["frames_dropped"] <= frames
    assert doc["steps"] >= 4
    # Bounded: with every frame queued, the last steps would wait seconds; here each waits at most a few frames.
    for step in doc["per_step"]:
        assert step["latency_ms"] is not None and step["latency_ms"] < step["delay_ns"] / 1e6 + 250


def test_the_record_is_exactly_what_the_card_played(tmp_path):
    walkers = ProceduralWalkers(WalkerSceneParams(duration_s=3.0))
    summary, doc, output, _ = run_live_graph(walkers, 0.0, tmp_path)
    played = np.concatenate(output._stream.played)
    with av.open(str(tmp_path / "played.wav")) as c:
        recorded = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1).reshape(-1, 2) / 2**31
    assert recorded.shape == played.shape
    np.testing.assert_allclose(recorded, played, atol=2e-7)  # 24-bit PCM of the same samples
    assert np.abs(played).max() > 0.05 and doc["steps"] >= 3  # clicks were played
    assert summary.steps == doc["steps_detected"]


def test_steps_are_spliced_in_ahead_of_the_card_not_behind_the_whole_lead(tmp_path):
    walkers = ProceduralWalkers(WalkerSceneParams(duration_s=3.0))
    _, doc, output, _ = run_live_graph(walkers, 0.0, tmp_path, record=False)
    lead_ms = output.params.fill_blocks * output.params.block / SR * 1e3
    assert doc["steps"] >= 3 and doc["device"]["splices"] == doc["steps"]
    # scheduled to DAC: the card's own latency and the block playing plus one, not the 43 ms written ahead
    for step in doc["per_step"]:
        assert step["output_ms"] < lead_ms - 10


def test_the_live_video_edge_never_drops_control_messages():
    ch = Channel("source", 1, "latest", keep=lambda item: not isinstance(item, VideoFrame))
    frame = VideoFrame(0, 0, 1, 4, 4, np.zeros((1, 1, 3), np.uint8))
    ch.put(frame)
    ch.put(SceneChange(5, "wood"))
    ch.put(frame)
    ch.put(frame)
    ch.put(EndOfStream(10))
    ch.close()
    items = list(ch)
    assert [type(i).__name__ for i in items] == ["SceneChange", "EndOfStream"]
    assert ch.dropped == 3


def test_the_mixer_lead_grows_after_underruns_and_shrinks_when_quiet():
    from footfall.engine.live_stages import AdaptiveLead

    lead = AdaptiveLead(512, 1024, 256, decay_ns=1000)
    assert lead.frames(0, 0) == 512
    assert lead.frames(1, 10) == 768 and lead.frames(3, 20) == 1024 and lead.frames(9, 30) == 1024  # capped
    assert lead.frames(9, 500) == 1024  # not quiet long enough
    assert lead.frames(9, 1100) == 768 and lead.frames(9, 2200) == 512 and lead.frames(9, 9999) == 512
