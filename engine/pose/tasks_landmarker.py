"""MediaPipe Tasks PoseLandmarker (several people per frame) turned into PoseSamples.

Same interface as `MediaPipePose`, so a pose worker can run either. It runs offline on the bundle `task_bundle`
builds from the wheel's own models. The persons come in no particular order and carry `UNTRACKED` as their id:
stable ids are `PersonTracker`'s job, on the ordered stream in the parent process (a pool worker sees only every
Nth frame).

Two behaviours of the Tasks graph in VIDEO mode worth knowing: the pose detector runs on every frame on which fewer
than `num_poses` people were tracked from the previous one (so a large `num_poses` with fewer people in view costs a
detector pass per frame), and with `num_poses == 1` MediaPipe's own landmark smoothing is switched on and cannot be
switched off (with more poses it is off).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from footfall.engine.messages import NUM_LANDMARKS, PersonPose, PoseSample

UNTRACKED = -1  # track_id of a person no tracker has named yet

NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class TasksPoseParams:
    num_poses: int = 4
    min_pose_detection_confidence: float = 0.5
    min_pose_presence_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    bundle_path: str = ""  # a PoseLandmarker .task file; empty: the one built from the installed wheel

    def __post_init__(self) -> None:
        if self.num_poses < 1:
            raise ValueError("num_poses must be at least 1")
        for name in ("min_pose_detection_confidence", "min_pose_presence_confidence", "min_tracking_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within 0..1")


def video_timestamp_ms(t_ns: int, last_ms: int | None) -> int:
    """Millisecond timestamp for the Tasks VIDEO mode, which needs strictly increasing ones.

    Media time rounded down to whole ms, bumped by one past the previous call's when frames are closer than 1 ms
    or time steps back (a source that restarts); ordinary streams keep their true media time.
    """
    ms = t_ns // NS_PER_MS
    return ms if last_ms is None or ms > last_ms else last_ms + 1


class TasksPose:
    """One PoseLandmarker in VIDEO mode; feed it the frames of one stream in increasing time."""

    def __init__(self, params: TasksPoseParams) -> None:
        import mediapipe as mp  # imported here so processes that never run pose don't pay for it
        from mediapipe.tasks.python import BaseOptions
        from mediapipe.tasks.python.vision import PoseLandmarker, PoseLandmarkerOptions, RunningMode

        from footfall.engine.pose.task_bundle import pose_task_bundle

        bundle = params.bundle_path or str(pose_task_bundle())
        options = PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=bundle),
            running_mode=RunningMode.VIDEO,
            num_poses=params.num_poses,
            min_pose_detection_confidence=params.min_pose_detection_confidence,
            min_pose_presence_confidence=params.min_pose_presence_confidence,
            min_tracking_confidence=params.min_tracking_confidence,
            output_segmentation_masks=False,
        )
        self._mp_image = mp.Image
        self._srgb = mp.ImageFormat.SRGB
        self._landmarker = PoseLandmarker.create_from_options(options)
        self._last_ms: int | None = None

    def process(self, image: np.ndarray, frame_index: int, t_ns: int, width: int, height: int) -> PoseSample:
        """Every person in `image` (RGB uint8), landmarks normalised to the frame, ids `UNTRACKED`."""
        ts = video_timestamp_ms(t_ns, self._last_ms)
        self._last_ms = ts
        frame = self._mp_image(image_format=self._srgb, data=np.ascontiguousarray(image))
        result = self._landmarker.detect_for_video(frame, ts)
        worlds = result.pose_world_landmarks
        persons = []
        for i, pose in enumerate(result.pose_landmarks):
            lm = np.array([(p.x, p.y, p.z, p.visibility or 0.0) for p in pose], dtype=np.float32)
            world = None
            if i < len(worlds):
                world = np.array([(p.x, p.y, p.z) for p in worlds[i]], dtype=np.float32)
            if lm.shape != (NUM_LANDMARKS, 4):
                raise RuntimeError(f"PoseLandmarker gave {lm.shape[0]} landmarks, expected {NUM_LANDMARKS}")
            persons.append(PersonPose(UNTRACKED, lm, world))
        return PoseSample(frame_index, t_ns, width, height, tuple(persons))

    def close(self) -> None:
        self._landmarker.close()
