"""A stand-in for sounddevice.OutputStream in unit tests: calls the callback from a thread, on the monotonic clock
(or as fast as it can, like the ALSA null device), and can vanish like an unplugged card."""
from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import numpy as np


class FakeOutputStream:
    def __init__(self, *, samplerate, blocksize, device, channels, dtype, latency, callback, paced=True,
                 vanish_after=None, latency_s=0.005):
        assert dtype == "float32"
        self.samplerate, self.blocksize, self.channels = samplerate, blocksize, channels
        self.callback = callback
        self.paced = paced
        self.vanish_after = vanish_after
        self.latency = latency_s
        self.active = False
        self.calls = 0
        self.played: list[np.ndarray] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        out = np.zeros((self.blocksize, self.channels), np.float32)
        status = SimpleNamespace(output_underflow=False)
        start = time.monotonic()
        while not self._stop.is_set():
            if self.vanish_after is not None and self.calls >= self.vanish_after:
                self.active = False
                return
            if self.paced:
                due = start + self.calls * self.blocksize / self.samplerate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            now = time.monotonic()
            self.callback(out, self.blocksize, SimpleNamespace(currentTime=now, outputBufferDacTime=now + self.latency),
                          status)
            self.played.append(out.copy())
            self.calls += 1
            if not self.paced and self.calls > 200_000:
                return

    def start(self) -> None:
        self.active = True
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.active = False

    def close(self) -> None:
        pass


def factory(**options):
    """A stream factory with FakeOutputStream's own options bound: factory(paced=False)(**sounddevice_kwargs)."""
    return lambda **kwargs: FakeOutputStream(**kwargs, **options)
