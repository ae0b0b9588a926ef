"""How a mode runs the one graph: what the video edge does when pose falls behind, and which clock paces the mixer.

Offline (render): every channel blocks, nothing is dropped, the mixer renders as far as the detector's watermark
allows, as fast as the stages go. Live: the video edge keeps only the newest frame (control messages and the end of
stream are never dropped), pose takes a frame only when a worker is idle, and the sound card's callback paces the
mixer. Serving frames (`footfall serve --frames`): the video edge and pose behave as live (pictures can arrive
faster than pose), but there is no sound card: the mixer renders by the detector's watermark, as offline.
Everything else (stages, routes, sinks for events) is the same graph.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from footfall.engine.graph.channel import Policy


@dataclass(frozen=True)
class GraphPolicy:
    name: str
    video_edge: Policy = "block"
    video_capacity: int | None = None  # frames the video edge holds; None: [render] channel_capacity
    clock: Literal["media", "device"] = "media"  # media: render as fast as possible; device: the sound card paces

    def __post_init__(self) -> None:
        if self.video_capacity is not None and self.video_capacity < 1:
            raise ValueError("video_capacity must be at least 1")
        if self.clock not in ("media", "device"):
            raise ValueError(f"clock must be 'media' or 'device', got {self.clock!r}")

    @property
    def live(self) -> bool:
        """The sound card's clock paces the mixer."""
        return self.clock == "device"

    @property
    def newest_frames(self) -> bool:
        """The video edge keeps the newest frame, so pose takes one only when a worker is idle (PosePool.map_live)."""
        return self.video_edge == "latest"


OFFLINE = GraphPolicy("offline")
LIVE = GraphPolicy("live", video_edge="latest", video_capacity=1, clock="device")
SERVE_FRAMES = GraphPolicy("serve-frames", video_edge="latest", video_capacity=1, clock="media")
