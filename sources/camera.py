"""Cameras through PyAV: v4l2 on Linux, avfoundation on macOS, dshow on Windows, with size, rate and pixel format.

A camera is named `camera:N` (the Nth camera: /dev/videoN, avfoundation's index N) or `camera:DEVICE` (a path such
as /dev/video2, or a dshow device name). An unplugged camera is re-opened with backoff by `LiveCapture`.
"""
from __future__ import annotations

import glob
import sys
import threading
from pathlib import Path

import av

from footfall.sources.capture import CaptureParams, LiveCapture
from footfall.sources.video_file import VideoSourceParams

PREFIX = "camera:"


def is_camera(spec: str) -> bool:
    return spec.startswith(PREFIX) or spec.startswith("/dev/video")


def camera_input(spec: str, platform: str = sys.platform) -> tuple[str, str]:
    """(FFmpeg input format, device string) for a camera spec on this platform."""
    name = spec[len(PREFIX):] if spec.startswith(PREFIX) else spec
    if platform.startswith("linux"):
        return "v4l2", f"/dev/video{name}" if name.isdigit() else name
    if platform == "darwin":
        return "avfoundation", f"{name}:none" if ":" not in name else name
    if platform.startswith("win"):
        return "dshow", name if name.startswith("video=") else f"video={name}"
    raise ValueError(f"no camera input on platform {platform}")


def camera_options(fmt: str, params: CaptureParams) -> dict[str, str]:
    options: dict[str, str] = {}
    if params.camera_size:
        options["video_size"] = params.camera_size
    if params.camera_rate:
        options["framerate"] = f"{params.camera_rate:g}"
    if params.camera_pixel_format:
        key = "input_format" if fmt == "v4l2" else ("vcodec" if params.camera_pixel_format == "mjpeg" else
                                                   "pixel_format")
        options[key] = params.camera_pixel_format
    return options


def open_camera(spec: str, params: CaptureParams, video: VideoSourceParams | None = None,
                cancel: threading.Event | None = None) -> LiveCapture:
    fmt, device = camera_input(spec)
    options = camera_options(fmt, params)

    def opener():
        return av.open(device, format=fmt, options=options, timeout=(params.open_timeout_s, params.read_timeout_s))

    return LiveCapture(spec, opener, params, video, cancel)


def list_cameras() -> list[str]:
    """The cameras this machine shows (Linux: /dev/video* with their driver names; elsewhere, how to name one)."""
    if sys.platform.startswith("linux"):
        out = []
        for dev in sorted(glob.glob("/dev/video*")):
            name_file = Path("/sys/class/video4linux") / Path(dev).name / "name"
            name = name_file.read_text().strip() if name_file.exists() else ""
            out.append(f"camera:{dev[len('/dev/video'):]}  {dev}  {name}".rstrip())
        return out
    if sys.platform == "darwin":
        return ["camera:N (N = avfoundation index; `ffmpeg -f avfoundation -list_devices true -i ''` lists them)"]
    return ["camera:NAME (dshow device name)"]
