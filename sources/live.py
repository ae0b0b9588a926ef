"""Which live source a SOURCE argument names: `camera:N` / /dev/videoN, a stream URL, or a file played as live."""
from __future__ import annotations

import threading
from pathlib import Path

from footfall.sources.camera import is_camera, open_camera
from footfall.sources.capture import CaptureParams
from footfall.sources.network_stream import is_stream_url, open_stream
from footfall.sources.paced_file import PacedFileSource
from footfall.sources.video_file import VideoSourceParams


def open_live_source(spec: str, capture: CaptureParams, video: VideoSourceParams,
                     cancel: threading.Event | None = None, passes: int = 1):
    """An object with `frames()`, `analysis_shape` and `name`; a bad file is a SourceError at once. `passes`: a
    file is played that many times end to end."""
    if is_camera(spec):
        return open_camera(spec, capture, video, cancel)
    if is_stream_url(spec):
        return open_stream(spec, capture, video, cancel)
    return PacedFileSource(Path(spec), video, passes)
