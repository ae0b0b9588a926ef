"""Mixed audio on a ZeroMQ PUB socket: each block as it is rendered, topic `audio`, a JSON header and raw PCM.

Multipart [b"audio", header, pcm]: the header gives the block's first sample frame on the service's sample clock
(`start`, 0 = media time 0), its length, channels, rate and `format` (little-endian float32, interleaved). Blocks
follow the game's clock: the mixer renders up to what the detector has cleared, as offline rendering does.
"""
from __future__ import annotations

import numpy as np
import zmq

from footfall.engine.serve.protocol import encode


class ZmqAudioSink:
    def __init__(self, socket: zmq.Socket, sample_rate: int, channels: int) -> None:
        self._socket = socket
        self.sample_rate = sample_rate
        self.channels = channels
        self.position = 0  # sample frames written so far: the next block's start
        self.dropped = 0

    def write(self, block: np.ndarray) -> None:
        data = np.ascontiguousarray(block, dtype="<f4")
        header = encode({"start": self.position, "frames": int(data.shape[0]), "channels": self.channels,
                         "sample_rate": self.sample_rate, "format": "f32le"})
        self.position += int(data.shape[0])
        try:
            self._socket.send_multipart([b"audio", header, data.tobytes()], flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            self.dropped += 1

    def close(self) -> None:
        """End of stream: nothing more to send (the socket is closed by the service)."""

    def abort(self) -> None:
        """Cancelled or failed: the same; subscribers see the stream stop."""
