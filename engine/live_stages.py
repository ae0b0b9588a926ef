"""The live graph's stage bodies, where they differ from rendering's (`engine/stages.py`): a mixer paced by the sound
card's clock, and a recorder of what the card played (pose on the newest frame is `pose_stage(..., live=True)`).

Each returns `body(cancel_event)` for Supervisor.add, like the offline stages, and the builder
(`engine/render.py: run_pipeline`) picks them when its GraphPolicy's clock is the device.
"""
from __future__ import annotations

import threading
import time
from collections import deque

from footfall.engine.graph.channel import Channel, ChannelClosed
from footfall.engine.live_stats import LiveStats
from footfall.engine.messages import NS_PER_S, BankChange, EndOfStream, SceneChange, StepEvent
from footfall.engine.mixer.mixer import Mixer
from footfall.engine.mixer.ring_writer import RingWriter
from footfall.engine.realtime import raise_this_thread
from footfall.engine.stages import AudioSink, BankSwitcher, Body, SurfaceTimeline, trigger_step
from footfall.sinks.sound_card import SoundCardSink

RECORD_POLL_S = 0.02


class AdaptiveLead:
    """How far ahead of the callback the mixer writes: one block more after each underrun (up to `most`), one block
    less after `decay_ns` without one (down to `least`), so a machine that stalls buys headroom for a while instead
    of crackling, and a quiet one keeps the least latency."""

    def __init__(self, least: int, most: int, step: int, decay_ns: int) -> None:
        self.least, self.most, self.step, self.decay_ns = least, most, step, decay_ns
        self.current = least
        self._underruns = 0
        self._since = 0

    def frames(self, underruns: int, now_ns: int) -> int:
        if underruns > self._underruns:
            self._underruns = underruns
            self.current = min(self.current + self.step, self.most)
            self._since = now_ns
        elif self.current > self.least and now_ns - self._since > self.decay_ns:
            self.current -= self.step
            self._since = now_ns
        return self.current


def device_mixer_stage(inp: Channel, output: SoundCardSink, mixer: Mixer, timeline: SurfaceTimeline,
                       stats: LiveStats, banks: BankSwitcher | None = None) -> Body:
    """Keeps `fill_blocks` blocks rendered ahead of the sound card's callback and triggers each step as it comes.

    A step's sound is placed where its contact falls on the output clock (the contact's wall time mapped through the
    callback's DAC times); a contact already past plays at once: spliced into what is written, `splice_blocks` ahead
    of the block playing (`RingWriter`), not behind the whole lead. At the end of
    the stream the sounds still ringing play out, and the device closes; it closes on cancel too. How far ahead it
    writes adapts to underruns (`AdaptiveLead`). Bank swaps (`banks`, live) happen between refills: at a block
    boundary, with the loaded bank handed over, never read from disk here."""
    sr = mixer.params.sample_rate
    banks = banks if banks is not None else BankSwitcher(mixer, live=True)
    ring = output.ring
    card = output.params
    wait_s = card.block / sr / 2
    lead = AdaptiveLead(card.block * card.fill_blocks, card.block * card.max_fill_blocks, card.block,
                        int(card.fill_decay_s * NS_PER_S))

    writer = RingWriter(mixer, ring, card.block, card.max_fill_blocks + 2, card.block * card.splice_blocks)

    def refill() -> None:
        fill = lead.frames(output.underruns, time.monotonic_ns())
        stats.lead_frames_max = max(stats.lead_frames_max, fill)
        writer.fill(fill)

    def body(cancel: threading.Event) -> None:
        sounding: deque[tuple[StepEvent, int]] = deque()

        def resolve() -> None:
            while sounding:
                dac = output.dac_ns(sounding[0][1])
                if dac is None:
                    return
                stats.sounded(sounding[0][0], dac)
                sounding.popleft()

        realtime = output.params.realtime and raise_this_thread()
        stats.mixer_realtime = realtime
        refill()
        output.start()
        try:
            ended = False
            while not ended:
                output.check()
                try:
                    item = inp.get(timeout=wait_s)
                except TimeoutError:
                    item = None
                except ChannelClosed:
                    return  # upstream stopped without an end of stream: a cancel or a failure elsewhere
                if isinstance(item, StepEvent):
                    frame, frame_dac = output.now_frame_ns()
                    at = frame + (stats.contact_wall_ns(item.t_ns) - frame_dac) * sr // NS_PER_S
                    first = writer.trigger(lambda frame_at: trigger_step(mixer, timeline, item, frame_at), at)
                    stats.scheduled(item)
                    stats.splices, stats.late_splices = writer.spliced, writer.late_splices
                    sounding.append((item, first))
                elif isinstance(item, SceneChange):
                    timeline.add(item)
                    banks.scene(item, timeline)
                elif isinstance(item, BankChange):
                    banks.bank(item)
                elif isinstance(item, EndOfStream):
                    ended = True
                banks.poll()
                refill()
                resolve()
            while mixer.active_voices:  # the last sounds are rendered to their end ...
                output.check()
                time.sleep(wait_s)
                refill()
                resolve()
            end = ring.write
            while sounding or ring.read < end:  # ... and played (silence behind them keeps the card fed)
                output.check()
                time.sleep(wait_s)
                refill()
                resolve()
        finally:
            output.close()

    return body


def recorder_stage(output: SoundCardSink, sink: AudioSink) -> Body:
    """Writes exactly what the sound card played (underruns' silence included) to `sink` until the card is
    closed; the file is finished whatever ends the run."""

    def body(cancel: threading.Event) -> None:
        try:
            while not (output.closed.is_set() or cancel.is_set()):
                time.sleep(RECORD_POLL_S)
                block = output.ring.take_played()
                if block is not None:
                    sink.write(block)
            block = output.ring.take_played()
            if block is not None:
                sink.write(block)
        finally:
            sink.close()

    return body
