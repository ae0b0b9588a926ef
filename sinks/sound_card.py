"""Live output to a sound card through PortAudio (sounddevice): the callback only copies from the ring.

The mixer thread keeps `fill_blocks` blocks written ahead in an `OutputRing` (new sounds are spliced in close to the
block playing, so that lead costs no latency: engine/mixer/ring_writer.py); the device's callback copies one block
out (zero-filling and counting an underrun if the mixer is late, never failing for it) and notes which ring frame
went out at which DAC time on the monotonic clock, so a sound's output time is known to the frame. Errors inside the
callback are kept and raised by `check()`, which the mixer thread calls on every turn, so they end the run on the
main thread with their message; so does a device that stops calling back (unplugged).

A device that takes audio faster than real time (the ALSA `null` device, or any file-like PortAudio sink) is found
within the first second and then paced by the callback itself: it sleeps until a block is due on the monotonic
clock, and that block's DAC time is when it is due; after a stall it carries on from the present, as a real card
does after an xrun. A real card is never paced: its own clock rules.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from footfall.engine.messages import NS_PER_S
from footfall.engine.realtime import raise_this_thread
from footfall.sinks.errors import SinkError
from footfall.sinks.output_ring import READ, UNDERRUN_FRAMES, UNDERRUNS, OutputRing

WARMUP_NS = NS_PER_S  # underruns in the stream's first second are start-up, reported apart from steady state
STALL_NS = 2 * NS_PER_S  # a started device that has not called back for this long has gone away
UNDERRUN_LOG = 256  # the times of the last this many underruns are kept (stats show when they happened)
# clock: seqlock counter, ring frame at the block's start, its DAC time, monotonic time of the callback
SEQ, BLOCK_FRAME, BLOCK_DAC, LAST_CALL = range(4)
# pace: first callback's time, device frames asked for, paced (0/1), underruns during warm-up, real-time (0/1)
START, FRAMES, PACED, WARM_UNDERRUNS, REALTIME = range(5)


@dataclass(frozen=True)
class SoundCardParams:
    """The live output device and how far ahead of it the mixer writes."""

    device: str = ""  # name (or part of it) or index of the output device; "" = the system default
    block: int = 256  # frames per callback
    latency: str = "low"  # PortAudio's suggested output latency: "low", "high", or seconds such as "0.02"
    fill_blocks: int = 8  # blocks the mixer keeps written ahead of the callback: how long it may stall unheard ...
    max_fill_blocks: int = 12  # ... raised by one after each underrun, up to this, ...
    fill_decay_s: float = 10.0  # ... and lowered by one again after this long without one
    splice_blocks: int = 1  # a new sound goes into the written audio this many blocks ahead of the card's read
    record_seconds: float = 8.0  # what was played waits at most this long for the recorder (--record)
    realtime: bool = True  # raise the callback and mixer threads to real-time priority where the system allows

    def __post_init__(self) -> None:
        if not 16 <= self.block <= 8192:
            raise ValueError("block must lie in 16..8192 frames")
        if not 1 <= self.fill_blocks <= self.max_fill_blocks <= 64:
            raise ValueError("fill_blocks and max_fill_blocks must satisfy 1 <= fill_blocks <= max_fill_blocks <= 64")
        if not 1 <= self.splice_blocks <= self.fill_blocks:
            raise ValueError("splice_blocks must lie in 1..fill_blocks")
        if self.fill_decay_s <= 0:
            raise ValueError("fill_decay_s must be > 0")
        if self.record_seconds <= 0:
            raise ValueError("record_seconds must be > 0")
        if self.latency not in ("low", "high"):
            try:
                seconds = float(self.latency)
            except ValueError:
                raise ValueError(f"latency must be 'low', 'high' or seconds, got {self.latency!r}") from None
            if not 0 < seconds <= 2:
                raise ValueError("latency must lie in 0..2 s")

    @property
    def device_arg(self) -> int | str | None:
        return None if self.device == "" else int(self.device) if self.device.isdigit() else self.device

    @property
    def latency_arg(self) -> str | float:
        return self.latency if self.latency in ("low", "high") else float(self.latency)


def output_devices() -> list[str]:
    """'index name (host API)' for every output device PortAudio sees."""
    import sounddevice as sd

    apis = sd.query_hostapis()
    return [f"{i} {d['name']} ({apis[d['hostapi']]['name']})" for i, d in enumerate(sd.query_devices())
            if d["max_output_channels"] > 0]


def _device_error(device: str, problem: str) -> SinkError:
    try:
        have = output_devices()
    except Exception:  # noqa: BLE001 - the listing is a courtesy; the problem is the message
        have = []
    listing = "; ".join(have) if have else "none"
    return SinkError(f"sound card '{device or 'default'}'", f"{problem} (output devices: {listing})")


class SoundCardSink:
    """Opens the device at once (a missing or busy one is a SinkError listing the devices); `start()` starts
    the callbacks. `stream_factory` takes sounddevice.OutputStream's keywords (tests pass a fake stream)."""

    def __init__(self, params: SoundCardParams, sample_rate: int, channels: int, record: bool = False,
                 stream_factory: Callable | None = None) -> None:
        self.params = params
        self.sample_rate = sample_rate
        self.ring = OutputRing(params.block * max(64, 4 * params.max_fill_blocks), channels,
                               int(params.record_seconds * sample_rate) if record else 0)
        warm = OutputRing(1, channels, 1)  # loads the copy kernel now: compiling it in the first callback would
        warm.play(np.zeros((1, channels), np.float32))  # hold the GIL, and every thread with it, for a second
        self._clock = np.zeros(4, np.int64)
        self._pace = np.zeros(5, np.int64)
        self._underrun_log = np.zeros(UNDERRUN_LOG, np.int64)
        self._block_ns = params.block * NS_PER_S // sample_rate
        self._error: BaseException | None = None
        self._started = False
        self._started_ns = 0
        self._stopping = False
        self.closed = threading.Event()  # set once the device is released: nothing more will be played
        if stream_factory is None:
            import sounddevice as sd

            stream_factory = sd.OutputStream
            errors: tuple = (sd.PortAudioError, ValueError)
        else:
            errors = (ValueError, OSError)
        try:
            self._stream = stream_factory(samplerate=sample_rate, blocksize=params.block, device=params.device_arg,
                                          channels=channels, dtype="float32", latency=params.latency_arg,
                                          callback=self._callback)
        except errors as exc:
            raise _device_error(params.device, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
        latency = float(getattr(self._stream, "latency", 0.0) or 0.0)
        self.device_latency_ns = int(latency * NS_PER_S)
        # a device that has taken this much more than real time within its first second is not paced by a clock
        self._unpaced_ahead_ns = self.device_latency_ns + 4 * self._block_ns

    def _callback(self, outdata, frames, time_info, status) -> None:
        try:
            pace, clock = self._pace, self._clock
            now = time.monotonic_ns()
            if pace[START] == 0:
                pace[START] = now
                pace[REALTIME] = self.params.realtime and raise_this_thread()
            due = pace[START] + pace[FRAMES] * NS_PER_S // self.sample_rate
            pace[FRAMES] += frames
            warming = now - pace[START] < WARMUP_NS
            # within the first second of audio (not of wall time: a starved thread may start late) a clocked card
            # cannot have taken much more than its buffer
            if not pace[PACED] and pace[FRAMES] <= self.sample_rate and due - now > self._unpaced_ahead_ns:
                pace[PACED] = 1
            if pace[PACED]:
                if now - due > 2 * self._block_ns:  # stalled: carry on from now, as a real card does after an xrun,
                    pace[START] += now - due  # instead of rushing through the blocks it missed
                    due = now
                if due - now > self._block_ns:
                    time.sleep((due - now - self._block_ns) / NS_PER_S)
                    now = time.monotonic_ns()
                dac = max(due, now)
            else:
                ahead = time_info.outputBufferDacTime - time_info.currentTime
                dac = now + int(ahead * NS_PER_S) if ahead > 0 else now + self.device_latency_ns
            frame = self.ring.counters[READ]
            if self.ring.play(outdata) < frames:
                self._underrun_log[self.ring.counters[UNDERRUNS] % UNDERRUN_LOG] = now
            if warming:
                pace[WARM_UNDERRUNS] = self.ring.counters[UNDERRUNS]
            clock[SEQ] += 1
            clock[BLOCK_FRAME] = frame
            clock[BLOCK_DAC] = dac
            clock[LAST_CALL] = now
            clock[SEQ] += 1
        except BaseException as exc:  # noqa: BLE001 - raised again on the mixer thread by check()
            self._error = exc  # not raised here: PortAudio would print it and stop without telling anyone
            outdata.fill(0)

    def start(self) -> None:
        self._started = True
        self._started_ns = time.monotonic_ns()
        self._stream.start()

    def dac_ns(self, frame: int) -> int | None:
        """The monotonic time at which ring frame `frame` reaches the DAC, once a callback has taken it."""
        clock = self._clock
        for _ in range(4):
            seq = int(clock[SEQ])
            block_frame, block_dac = int(clock[BLOCK_FRAME]), int(clock[BLOCK_DAC])
            if seq % 2 == 0 and seq == int(clock[SEQ]):
                break
        else:
            return None
        if seq == 0 or frame >= self.ring.read:
            return None
        return block_dac + (frame - block_frame) * NS_PER_S // self.sample_rate

    def now_frame_ns(self) -> tuple[int, int]:
        """(ring frame, the monotonic time it reaches the DAC): the newest point of the output clock."""
        frame = self.ring.read - 1
        dac = self.dac_ns(frame)
        return (frame, dac) if dac is not None else (self.ring.read, time.monotonic_ns() + self.device_latency_ns)

    @property
    def realtime(self) -> bool:
        """True when the callback thread runs at real-time priority."""
        return bool(self._pace[REALTIME])

    @property
    def paced_here(self) -> bool:
        """True when the device took audio faster than real time and the callback paces it."""
        return bool(self._pace[PACED])

    @property
    def underruns(self) -> int:
        """Callbacks that found the ring short after the first second (steady state)."""
        return int(self.ring.counters[UNDERRUNS] - self._pace[WARM_UNDERRUNS])

    def underrun_times_ns(self) -> list[int]:
        """Monotonic times of the last underruns (up to UNDERRUN_LOG), oldest first."""
        n = int(self.ring.counters[UNDERRUNS])
        return [int(self._underrun_log[i % UNDERRUN_LOG]) for i in range(max(1, n - UNDERRUN_LOG + 1), n + 1)]

    @property
    def underruns_warmup(self) -> int:
        return int(self._pace[WARM_UNDERRUNS])

    @property
    def underrun_frames(self) -> int:
        return int(self.ring.counters[UNDERRUN_FRAMES])

    def check(self) -> None:
        """Raises what went wrong on the audio side: an error in the callback, a device that stopped."""
        if self._error is not None:
            raise SinkError(f"sound card '{self.params.device or 'default'}'",
                            f"output callback failed: {type(self._error).__name__}: {self._error}")
        if not self._started or self._stopping:
            return
        last = max(int(self._clock[LAST_CALL]), self._started_ns)
        active = bool(getattr(self._stream, "active", True))
        stalled = time.monotonic_ns() - last > STALL_NS
        if not active or stalled:
            raise SinkError(f"sound card '{self.params.device or 'default'}'",
                            "the output device stopped (unplugged, or taken by another program)")

    def close(self) -> None:
        """Stops the callbacks (what the ring still holds is not played) and releases the device."""
        self._stopping = True
        try:
            self._stream.stop()
        finally:
            self._stream.close()
            self.closed.set()
