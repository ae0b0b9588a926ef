"""Live test streams produced with PyAV on loopback: a moving picture encoded in real time to an URL (MPEG-TS over
UDP or TCP) or to an HLS playlist in a folder, until stopped (a cut). The sender is its own process: PyAV holds the
GIL while an output waits for its first client (tcp listen), which would stall the receiver in a thread."""
from __future__ import annotations

import multiprocessing as mp
import time
from fractions import Fraction


def _send(url: str, fmt: str, fps: int, size: tuple[int, int], options: dict) -> None:
    import av
    import numpy as np

    w, h = size
    with av.open(url, "w", format=fmt, options=options) as out:
        stream = out.add_stream("libx264", rate=fps, options={"tune": "zerolatency", "preset": "ultrafast", "g": "10"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        yy, xx = np.mgrid[0:h, 0:w]
        start = time.monotonic()
        i = 0
        while True:
            img = np.stack([(xx + 4 * i) % 256, (yy + 2 * i) % 256, np.full_like(xx, 128)], -1)
            frame = av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
            i += 1
            delay = start + i / fps - time.monotonic()
            if delay > 0:
                time.sleep(delay)


class StreamSender:
    def __init__(self, url: str, fmt: str = "mpegts", fps: int = 30, size: tuple[int, int] = (160, 120),
                 options: dict | None = None) -> None:
        self._proc = mp.get_context("spawn").Process(target=_send, args=(url, fmt, fps, size, options or {}),
                                                     daemon=True)

    def start(self) -> "StreamSender":
        self._proc.start()
        return self

    def stop(self) -> None:
        """Cuts the stream: the sender dies mid-stream, as a crashed encoder or a pulled cable would leave it."""
        if self._proc.is_alive():
            self._proc.kill()
        if self._proc.pid is not None:
            self._proc.join(timeout=10)
