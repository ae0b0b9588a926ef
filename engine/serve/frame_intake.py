"""Picture messages (`serve --frames`) to VideoFrames at the analysis size, with the sender's media time.

Pure bookkeeping beside PoseIntake, with the same contract: `take(parts, now_s)` returns the graph item (a
VideoFrame) or raises ProtocolError with the reason, and every message is counted exactly once in `counters`:
`received` = `frames` + `invalid` (split by reason as `invalid.<reason>`). A message is two parts, the JSON header
and the payload (JPEG bytes or raw rgb24 rows); the picture is scaled like a video file's (`analysis_image`), so
pose sees the same images from both. Its arrival is stamped on the monotonic clock before it is decoded, so a step's
`engine_ms` counts decoding too. Time must increase from frame to frame.
"""
from __future__ import annotations

import time
from collections import Counter, OrderedDict

from footfall.engine.messages import NS_PER_S, VideoFrame
from footfall.engine.serve.protocol import ProtocolError, decode, parse_picture_header
from footfall.sources.pictures import PictureDecoder, PictureError
from footfall.sources.video_file import VideoSourceParams, analysis_image, analysis_size

ARRIVALS_KEPT = 8192  # frames whose arrival time is kept for measuring the engine's latency
FIRST_DURATION_NS = NS_PER_S // 30  # a first frame's duration, before a second one tells the rate
PERSON = "person"  # steps of pose track N are published as character "personN"


class FrameIntake:
    def __init__(self, video: VideoSourceParams, max_side: int, max_bytes: int, max_header_bytes: int) -> None:
        self.video = video
        self.max_side = max_side
        self.max_bytes = max_bytes
        self.max_header_bytes = max_header_bytes
        self.counters: Counter = Counter()
        self.newest_ns = 0
        self._last_ns: int | None = None
        self._index = 0
        self._decoder = PictureDecoder()
        self._arrivals: OrderedDict[int, int] = OrderedDict()  # t_ns -> time.monotonic_ns() at arrival

    @staticmethod
    def analysis_bound(video: VideoSourceParams, max_side: int) -> tuple[int, int]:
        """(height, width) bound of the images made from pictures of at most `max_side` a side, either orientation:
        one within [source] max_side is analysed as sent, a larger one scaled to scaled_side (rounded to even, so at
        most one more), so the largest is a square of min(max_side, [source] max_side). The pose workers' frame
        slots are this size."""
        side = min(max_side, max(video.max_side, video.scaled_side + 1))
        return side, side

    @property
    def analysis_shape(self) -> tuple[int, int]:
        return self.analysis_bound(self.video, self.max_side)

    def take(self, parts: list[bytes], now_s: float) -> VideoFrame:
        self.counters["received"] += 1
        try:
            frame = self._take(parts)
        except ProtocolError as exc:
            self.counters[f"invalid.{exc.reason}"] += 1
            self.counters["invalid"] += 1
            raise
        self.counters["frames"] += 1
        return frame

    def _take(self, parts: list[bytes]) -> VideoFrame:
        arrival = time.monotonic_ns()
        if len(parts) != 2:
            raise ProtocolError("bad_parts", f"{len(parts)} message parts (send two: the JSON header, the picture)")
        header = parse_picture_header(decode(parts[0], self.max_header_bytes), self.max_side)
        payload = parts[1]
        if len(payload) > self.max_bytes:
            raise ProtocolError("too_large", f"a {len(payload)}-byte picture, limit {self.max_bytes} "
                                             f"([serve] frames_max_bytes)")
        if self._last_ns is not None and header.t_ns <= self._last_ns:
            raise ProtocolError("time_order", f"t_ns {header.t_ns} does not follow the last frame's {self._last_ns}")
        try:
            picture = self._decoder.decode(header.format, payload, header.width, header.height)
        except PictureError as exc:
            raise ProtocolError(exc.reason, str(exc).split(": ", 1)[1]) from None
        w, h = analysis_size(header.width, header.height, self.video)
        image = analysis_image(picture, w, h, self.video.decode_threads)
        duration = FIRST_DURATION_NS if self._last_ns is None else header.t_ns - self._last_ns
        frame = VideoFrame(self._index, header.t_ns, duration, header.width, header.height, image, arrival)
        self._index += 1
        self._last_ns = self.newest_ns = header.t_ns
        self._arrivals[header.t_ns] = arrival
        if len(self._arrivals) > ARRIVALS_KEPT:
            self._arrivals.popitem(last=False)
        return frame

    def arrival_ns(self, track_id: int, t_ns: int) -> int | None:
        """When the picture of media time `t_ns` arrived (time.monotonic_ns); every person in it arrived then."""
        return self._arrivals.get(t_ns)

    def name_of(self, track_id: int) -> str:
        return f"{PERSON}{track_id}"

    def track_id(self, name: str) -> int | None:
        """The pose track a character name means ("person0"), for per-character control requests."""
        digits = name[len(PERSON):]
        return int(digits) if name.startswith(PERSON) and digits.isdigit() and len(digits) <= 6 else None
