"""Pictures sent as bytes (a JPEG, or raw RGB rows) to av.VideoFrames, so they take the file path's analysis scaling.

JPEG is decoded with PyAV's MJPEG decoder: the picture comes out as a VideoFrame in YUV, like a decoded video file's,
so `analysis_image` scales it in YUV before the one RGB conversion (OpenCV would hand back BGR at full size, to be
converted and scaled again), and no dependency is added (cv2 comes only with mediapipe). A JPEG's size is read from
its frame header before it is decoded, so a small message claiming a huge picture never allocates it. Raw RGB is
checked to be exactly width x height x 3 bytes. Every refusal is a PictureError with a short reason.
"""
from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # start-of-frame markers (not DHT, JPG, DAC)


class PictureError(ValueError):
    """The bytes are not the picture they claim to be; `reason` is short and machine-readable."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a JPEG's start-of-frame segment; None when the bytes hold none before the scan."""
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            i += 2
            continue
        length = int.from_bytes(data[i + 2:i + 4], "big")
        if marker in SOF_MARKERS:
            if i + 9 > len(data) or length < 7:
                return None
            return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
        if marker == 0xDA or length < 2:  # the scan began without a frame header
            return None
        i += 2 + length
    return None


class PictureDecoder:
    """Decodes picture payloads one at a time (one MJPEG decoder, made again after a picture broke it)."""

    def __init__(self) -> None:
        self._jpeg: av.CodecContext | None = None

    def decode(self, fmt: str, payload: bytes, width: int, height: int) -> av.VideoFrame:
        if fmt == "rgb24":
            if len(payload) != width * height * 3:
                raise PictureError("bad_payload", f"{len(payload)} bytes of rgb24, a {width}x{height} picture is "
                                                  f"{width * height * 3}")
            rows = np.frombuffer(payload, np.uint8).reshape(height, width, 3)
            return av.VideoFrame.from_ndarray(rows, format="rgb24")
        if fmt != "jpeg":
            raise PictureError("bad_format", f"unknown picture format {fmt!r}")
        size = jpeg_size(payload)
        if size is None:
            raise PictureError("bad_picture", "not a JPEG (no frame header before the scan)")
        if size != (width, height):
            raise PictureError("bad_picture", f"the JPEG is {size[0]}x{size[1]}, the header says {width}x{height}")
        if self._jpeg is None:
            self._jpeg = av.CodecContext.create("mjpeg", "r")
        try:
            pictures = self._jpeg.decode(av.Packet(payload))
        except av.error.FFmpegError as exc:
            self._jpeg = None
            raise PictureError("bad_picture", f"the JPEG does not decode ({exc.strerror or exc})") from None
        if not pictures:
            raise PictureError("bad_picture", "the JPEG held no picture")
        picture = pictures[-1]
        if (picture.width, picture.height) != (width, height):
            raise PictureError("bad_picture", f"the JPEG decoded to {picture.width}x{picture.height}, the header "
                                              f"says {width}x{height}")
        return picture


class JpegEncoder:
    """RGB pictures to JPEG bytes through PyAV's MJPEG encoder (for clients, tests and `bench serve-frames`);
    `quality` is the encoder's fixed quantiser, 2 (best) to 31."""

    def __init__(self, quality: int = 3) -> None:
        if not 2 <= quality <= 31:
            raise ValueError("JPEG quality (quantiser) must lie in 2..31")
        self.quality = quality
        self._ctx: av.CodecContext | None = None

    def encode(self, rgb: np.ndarray) -> bytes:
        height, width = rgb.shape[:2]
        if self._ctx is None or (self._ctx.width, self._ctx.height) != (width, height):
            self._ctx = av.CodecContext.create("mjpeg", "w")
            self._ctx.width, self._ctx.height, self._ctx.pix_fmt = width, height, "yuvj420p"
            self._ctx.time_base = Fraction(1, 30)
            self._ctx.qmin = self._ctx.qmax = self.quality
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(format="yuvj420p")
        return b"".join(bytes(p) for p in self._ctx.encode(frame))
