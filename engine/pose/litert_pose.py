"""MediaPipe's single-person pose, run on the wheel's own two models through LiteRT instead of MediaPipe's graph.

Why: MediaPipe's graph costs 17.6 ms a tracked 720p frame on one core here (19.1 ms with both cores busy), of which
the landmark model itself, run by LiteRT's XNNPACK, is 13.9 ms; the rest is graph overhead footfall does not need.
`import mediapipe` also costs 1.4 s of CPU in every render (matplotlib, through its drawing utilities); LiteRT 0.1 s.

The models, their inputs and the processing around them are MediaPipe's (blazepose.py): detect when no pose is
tracked, cut the region out, run the landmark model, keep the pose while its presence score exceeds
`min_tracking_confidence`, and track the region with the smoothed auxiliary landmarks. Landmark smoothing is off,
as footfall asks of MediaPipe too.
"""
from __future__ import annotations

import numpy as np

from footfall.engine.messages import PersonPose, PoseSample
from footfall.engine.pose import blazepose
from footfall.engine.pose.task_bundle import wheel_model_paths


class PoseModelMismatch(RuntimeError):
    """The wheel's model does not have the outputs MediaPipe's pose graph reads."""


def _outputs_by_shape(interpreter, shapes: dict[str, tuple[int, ...]]) -> dict[str, int]:
    """Output tensor index of each named output, found by its shape (the models name them Identity, Identity_1...)."""
    found = {tuple(int(n) for n in d["shape"]): d["index"] for d in interpreter.get_output_details()}
    missing = [name for name, shape in shapes.items() if shape not in found]
    if missing:
        raise PoseModelMismatch(f"pose model lacks the {', '.join(missing)} output(s) (shapes {sorted(found)})")
    return {name: found[shape] for name, shape in shapes.items()}


class LiteRTPose:
    """One tracker (same interface as `MediaPipePose`); feed it consecutive frames of one stream."""

    def __init__(self, min_detection_confidence: float, min_tracking_confidence: float) -> None:
        import cv2
        from ai_edge_litert.interpreter import Interpreter  # imported here: only pose workers need it

        cv2.setNumThreads(1)  # one worker process per core: OpenCV's own thread pool would only contend
        detector, landmarks = wheel_model_paths()
        self._detector = Interpreter(model_path=str(detector), num_threads=1)
        self._landmarks = Interpreter(model_path=str(landmarks), num_threads=1)
        for interpreter in (self._detector, self._landmarks):
            interpreter.allocate_tensors()
        self._det_in = self._detector.get_input_details()[0]["index"]
        self._det_out = _outputs_by_shape(self._detector, {"boxes": (1, 2254, 12), "scores": (1, 2254, 1)})
        self._lm_in = self._landmarks.get_input_details()[0]["index"]
        self._lm_out = _outputs_by_shape(self._landmarks, {"landmarks": (1, 195), "presence": (1, 1),
                                                           "heatmap": (1, 64, 64, 39), "world": (1, 117)})
        self._min_detection = min_detection_confidence
        self._min_tracking = min_tracking_confidence
        self._roi: blazepose.Roi | None = None
        self._aux_filter = blazepose.AuxiliaryFilter()

    def process(self, image: np.ndarray, frame_index: int, t_ns: int, width: int, height: int) -> PoseSample:
        """The pose in `image` (RGB uint8), landmarks normalised to the image, as track 0; none if nobody is seen."""
        h, w = image.shape[:2]
        roi = self._roi if self._roi is not None else self._detect(image)
        found = self._pose(image, roi, w, h) if roi is not None else None
        if found is None:
            self._roi = None
            self._aux_filter.reset()
            return PoseSample(frame_index, t_ns, width, height, ())
        aux = self._aux_filter(found.auxiliary_px)
        self._roi = blazepose.roi_from_points(aux[0, :2], aux[1, :2])
        return PoseSample(frame_index, t_ns, width, height, (PersonPose(0, found.image, found.world),))

    def _detect(self, image: np.ndarray) -> blazepose.Roi | None:
        tensor, pad = blazepose.detector_input(image)
        self._detector.set_tensor(self._det_in, tensor)
        self._detector.invoke()
        boxes, scores = (self._detector.get_tensor(self._det_out[k]) for k in ("boxes", "scores"))
        keypoints = blazepose.best_detection(boxes, scores, self._min_detection, pad)
        if keypoints is None:
            return None
        size = np.array(image.shape[1::-1], dtype=np.float64)
        return blazepose.roi_from_points(keypoints[0] * size, keypoints[1] * size)

    def _pose(self, image: np.ndarray, roi: blazepose.Roi, w: int, h: int) -> blazepose.Landmarks | None:
        self._landmarks.set_tensor(self._lm_in, blazepose.landmark_input(image, roi))
        self._landmarks.invoke()
        raw, presence, heatmap, world = (self._landmarks.get_tensor(self._lm_out[k])
                                         for k in ("landmarks", "presence", "heatmap", "world"))
        if not float(presence.reshape(-1)[0]) > self._min_tracking:
            return None
        return blazepose.decode_landmarks(raw, heatmap, world, roi, w, h)

    def close(self) -> None:
        self._detector = self._landmarks = None
