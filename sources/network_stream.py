"""Network video streams through PyAV/FFmpeg: rtsp, rtmp, srt, udp and tcp (MPEG-TS), http(s) and HLS playlists.

FFmpeg knows every protocol; what is chosen here is how it is opened for low delay (no input buffering, a small
probe) and the per-protocol options that keep a live stream alive (RTSP over TCP, a UDP receive buffer that drops on
overrun instead of failing). Reconnection is `LiveCapture`'s.
"""
from __future__ import annotations

import threading
from urllib.parse import urlparse

import av

from footfall.sources.capture import CaptureParams, LiveCapture
from footfall.sources.errors import SourceError
from footfall.sources.video_file import VideoSourceParams

PROTOCOLS = ("rtsp", "rtsps", "rtmp", "rtmps", "srt", "udp", "rtp", "tcp", "http", "https")


def is_stream_url(spec: str) -> bool:
    return urlparse(spec).scheme.lower() in PROTOCOLS


def stream_options(url: str) -> dict[str, str]:
    options = {"fflags": "nobuffer", "flags": "low_delay", "probesize": "1000000", "analyzeduration": "1000000"}
    scheme = urlparse(url).scheme.lower()
    if scheme in ("rtsp", "rtsps"):
        options["rtsp_transport"] = "tcp"
    elif scheme == "udp":
        options.update({"fifo_size": "1000000", "overrun_nonfatal": "1"})
    elif scheme in ("http", "https"):
        options.update({"reconnect": "1", "reconnect_streamed": "1"})
    return options


def open_stream(url: str, params: CaptureParams, video: VideoSourceParams | None = None,
                cancel: threading.Event | None = None) -> LiveCapture:
    if not is_stream_url(url):
        raise SourceError(f"{url}: not a stream URL (protocols: {', '.join(PROTOCOLS)})")
    options = stream_options(url)

    def opener():
        return av.open(url, options=options, timeout=(params.open_timeout_s, params.read_timeout_s))

    return LiveCapture(url, opener, params, video, cancel)
