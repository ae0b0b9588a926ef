"""MediaPipe's pose, run on the wheel's own two models through LiteRT instead of MediaPipe's graph.

Why: MediaPipe's graph costs 17.6 ms a tracked 720p frame on one core here (19.1 ms with both cores busy), of which
the landmark model itself, run by LiteRT's XNNPACK, is 13.9 ms; the rest is graph overhead footfall does not need.
`import mediapipe` also costs 1.4 s of CPU in every render (matplotlib, through its drawing utilities); LiteRT 0.1 s.

The models, their inputs and the processing around them are MediaPipe's (blazepose.py): detect when no pose is
tracked, cut the region out, run the landmark model, keep the pose while its presence score exceeds
`min_tracking_confidence`, and track the region with the smoothed auxiliary landmarks. Landmark smoothing is off,
as footfall asks of MediaPipe too.

Several people (`max_people` above 1) are as many such regions, each tracked the same way. The detector runs when
nobody is tracked and, while fewer than `max_people` are, every `search_ms` to find newcomers: the Tasks
PoseLandmarker runs it on every such frame, which made two people cost 1.6 times one person with one on screen. A
region that drifts onto a person another region already holds is dropped.
"""
from __future__ import annotations

from dataclasses import dataclass

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


SAME_PERSON = 0.25  # two regions whose hip centres are closer than this part of the smaller one's side hold one person


@dataclass
class _Tracked:
    roi: blazepose.Roi
    aux_filter: blazepose.AuxiliaryFilter


def _same_person(a: blazepose.Roi, b: blazepose.Roi) -> bool:
    return float(np.hypot(a.cx - b.cx, a.cy - b.cy)) < SAME_PERSON * min(a.side, b.side)


def _region(found: blazepose.Landmarks) -> blazepose.Roi:
    """The region a pose's own (unsmoothed) auxiliary landmarks describe."""
    return blazepose.roi_from_points(found.auxiliary_px[0, :2], found.auxiliary_px[1, :2])


class LiteRTPose:
    """One tracker of up to `max_people` people (same interface as `MediaPipePose`); feed it consecutive frames of
    one stream. With one person, that person is track 0; with several, ids are per frame (the pool's PersonTracker
    names them)."""

    def __init__(self, min_detection_confidence: float, min_tracking_confidence: float, max_people: int = 1,
                 search_ms: float = 500.0) -> None:
        if max_people < 1 or search_ms < 0:
            raise ValueError("max_people must be at least 1 and search_ms not negative")
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
        self._max_people = max_people
        self._search_ns = int(search_ms * 1e6)
        self._tracked: list[_Tracked] = []
        self._searched_ns: int | None = None

    def process(self, image: np.ndarray, frame_index: int, t_ns: int, width: int, height: int) -> PoseSample:
        """The poses in `image` (RGB uint8), landmarks normalised to the image; none if nobody is seen."""
        h, w = image.shape[:2]
        search = not self._tracked or (len(self._tracked) < self._max_people and
                                       (self._searched_ns is None or t_ns - self._searched_ns >= self._search_ns
                                        or t_ns < self._searched_ns))
        people: list[tuple[blazepose.Landmarks, _Tracked]] = []
        for tracked in self._tracked:
            found = self._pose(image, tracked.roi, w, h)
            if found is not None and not any(_same_person(_region(found), _region(f)) for f, _ in people):
                people.append((found, tracked))
        if search:
            self._searched_ns = t_ns
            for roi in self._detect(image):
                if len(people) >= self._max_people:
                    break
                if any(_same_person(roi, _region(f)) for f, _ in people):
                    continue
                found = self._pose(image, roi, w, h)
                if found is not None and not any(_same_person(_region(found), _region(f)) for f, _ in people):
                    people.append((found, _Tracked(roi, blazepose.AuxiliaryFilter())))
        for found, tracked in people:
            aux = tracked.aux_filter(found.auxiliary_px)
            tracked.roi = blazepose.roi_from_points(aux[0, :2], aux[1, :2])
        self._tracked = [tracked for _, tracked in people]
        persons = tuple(PersonPose(i, found.image, found.world) for i, (found, _) in enumerate(people))
        return PoseSample(frame_index, t_ns, width, height, persons)

    def _detect(self, image: np.ndarray) -> list[blazepose.Roi]:
        tensor, pad = blazepose.detector_input(image)
        self._detector.set_tensor(self._det_in, tensor)
        self._detector.invoke()
        boxes, scores = (self._detector.get_tensor(self._det_out[k]) for k in ("boxes", "scores"))
        size = np.array(image.shape[1::-1], dtype=np.float64)
        return [blazepose.roi_from_points(k[0] * size, k[1] * size)
                for k in blazepose.detections(boxes, scores, self._min_detection, pad, self._max_people)]

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
