"""MediaPipe pose (the full model bundled in the mediapipe 0.10.21 wheel) turned into PoseSamples.

Runs entirely offline: model_complexity 1 is the model the wheel carries (0 and 2 would try to download).
MediaPipe's own landmark smoothing is off: footfall filters causally itself, with known delay.

`PoseParams` picks the estimator. `backend` "litert" (the default) runs the wheel's two models with MediaPipe's
processing through LiteRT (`litert_pose.py`: 22% less CPU a frame, landmarks within a pixel of MediaPipe's), for one
person or, with `max_people` above 1, for that many, each tracked in its own region. `backend` "mediapipe" runs
MediaPipe itself: the legacy solution here for one person, the Tasks PoseLandmarker (`tasks_landmarker.py`) for
more. With several people, ids come from `PersonTracker` on the ordered stream (`pool.py`); one person is track 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from footfall.engine.messages import NUM_LANDMARKS, PersonPose, PoseSample
from footfall.engine.pose.person_tracker import PersonTrackerParams
from footfall.engine.pose.tasks_landmarker import TasksPose, TasksPoseParams


@dataclass(frozen=True)
class PoseParams:
    workers: int = 2  # pose runs in worker processes: MediaPipe holds the GIL
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    in_flight_per_worker: int = 2
    max_people: int = 1  # 1: single-person pose (fastest); more: that many, with ids from PersonTracker
    backend: Literal["litert", "mediapipe"] = "litert"  # who runs the models (see module docstring)
    people_search_ms: float = 500.0  # litert, several people: while fewer are tracked, look for newcomers this often
    tracking: PersonTrackerParams = field(default_factory=PersonTrackerParams)  # used when max_people > 1

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.in_flight_per_worker < 1:
            raise ValueError("in_flight_per_worker must be at least 1")
        if isinstance(self.max_people, bool) or not isinstance(self.max_people, int) or self.max_people < 1:
            raise ValueError(f"max_people must be a whole number, at least 1 (got {self.max_people!r})")
        for name in ("min_detection_confidence", "min_tracking_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within 0..1")
        if not self.people_search_ms >= 0:
            raise ValueError("people_search_ms must not be negative")
        if self.backend not in ("litert", "mediapipe"):
            raise ValueError(f"backend must be litert or mediapipe, not {self.backend!r}")
        if not isinstance(self.tracking, PersonTrackerParams):
            raise ValueError("tracking must be PersonTrackerParams")

    @property
    def preload(self) -> tuple[str, ...]:
        """The modules a pose worker imports to run this estimator (what the pool's forkserver preloads)."""
        if self.backend == "mediapipe":
            return ("mediapipe",)
        return ("ai_edge_litert.interpreter", "cv2")

    @property
    def several(self) -> bool:
        """Whether several people are tracked (ids from PersonTracker) rather than one."""
        return self.max_people > 1

    @property
    def uses_tasks(self) -> bool:
        """Whether the Tasks PoseLandmarker runs (several people through MediaPipe), which needs its `.task` bundle."""
        return self.several and self.backend == "mediapipe"

    def tasks_params(self, bundle_path: str) -> TasksPoseParams:
        """The Tasks PoseLandmarker's parameters with the same thresholds the legacy solution gets: detection for
        detection; tracking for both pose presence and tracking, the two scores the legacy tracker's one
        `min_tracking_confidence` stands for (below it, re-detect)."""
        return TasksPoseParams(
            num_poses=self.max_people,
            min_pose_detection_confidence=self.min_detection_confidence,
            min_pose_presence_confidence=self.min_tracking_confidence,
            min_tracking_confidence=self.min_tracking_confidence,
            bundle_path=bundle_path,
        )


class MediaPipePose:
    """One tracker; feed it consecutive frames of one stream."""

    def __init__(self, params: PoseParams) -> None:
        import mediapipe as mp  # imported here so processes that never run pose don't pay for it

        self._pose = mp.solutions.pose.Pose(
            static_image_mode=False,
            model_complexity=1,
            smooth_landmarks=False,
            enable_segmentation=False,
            min_detection_confidence=params.min_detection_confidence,
            min_tracking_confidence=params.min_tracking_confidence,
        )

    def process(self, image: np.ndarray, frame_index: int, t_ns: int, width: int, height: int) -> PoseSample:
        result = self._pose.process(image)
        if result.pose_landmarks is None:
            return PoseSample(frame_index, t_ns, width, height, ())
        lm = np.array([(p.x, p.y, p.z, p.visibility) for p in result.pose_landmarks.landmark], dtype=np.float32)
        world = None
        if result.pose_world_landmarks is not None:
            world = np.array([(p.x, p.y, p.z) for p in result.pose_world_landmarks.landmark], dtype=np.float32)
        assert lm.shape == (NUM_LANDMARKS, 4)
        return PoseSample(frame_index, t_ns, width, height, (PersonPose(0, lm, world),))

    def close(self) -> None:
        self._pose.close()


def pose_estimator(params: PoseParams, bundle_path: str = ""):
    """The estimator `params` asks for: `LiteRTPose` (any number of people), or MediaPipe's: `MediaPipePose` for one
    person, `TasksPose` on `bundle_path` for several. All three have `process(image, frame_index, t_ns, width,
    height)` and `close()`."""
    if params.uses_tasks:
        return TasksPose(params.tasks_params(bundle_path))
    if params.backend == "mediapipe":
        return MediaPipePose(params)
    from footfall.engine.pose.litert_pose import LiteRTPose  # imported here: it loads OpenCV

    return LiteRTPose(params.min_detection_confidence, params.min_tracking_confidence, params.max_people,
                      params.people_search_ms)
