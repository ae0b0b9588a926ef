"""MediaPipe pose (the full model bundled in the mediapipe 0.10.21 wheel) turned into PoseSamples.

Runs entirely offline: model_complexity 1 is the model the wheel carries (0 and 2 would try to download).
MediaPipe's own landmark smoothing is off: footfall filters causally itself, with known delay.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from footfall.engine.messages import NUM_LANDMARKS, PersonPose, PoseSample


@dataclass(frozen=True)
class PoseParams:
    workers: int = 2  # pose runs in worker processes: MediaPipe holds the GIL
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    in_flight_per_worker: int = 2

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.in_flight_per_worker < 1:
            raise ValueError("in_flight_per_worker must be at least 1")


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
