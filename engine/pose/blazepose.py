"""BlazePose's pre- and post-processing around the two pose models in the mediapipe wheel, done as MediaPipe's
single-person pose graph does it, so that running the models ourselves gives MediaPipe's landmarks.

The constants are the graph's own, read from the subgraph configurations compiled into the mediapipe 0.10.21 wheel
(PoseDetectionCpu, PoseDetectionToRoi, PoseLandmarkByRoiCpu, TensorsToPoseLandmarksAndSegmentation,
PoseLandmarkFiltering, PoseLandmarksToRoi). Pure NumPy and OpenCV (which mediapipe installs): no interpreter here,
and no state beyond `AuxiliaryFilter`.

A region of interest (`Roi`) is a square in image pixels: centre, side and rotation. The detector finds the first
one (from its hip-centre and scale keypoints); after that each frame's landmarks give the next frame's region (from
the two auxiliary landmarks, smoothed), and the detector runs again only when the pose is lost (or, tracking several
people, now and then to find newcomers).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

DETECTOR_SIZE = 224
DETECTOR_STRIDES = (8, 16, 32, 32, 32)
ANCHORS_PER_LAYER = 2  # aspect ratio 1 and the interpolated scale; with fixed-size anchors only centres differ
SCORE_CLIP = 100.0
NMS_IOU = 0.3
LANDMARK_SIZE = 256
HEATMAP_KERNEL = 7
HEATMAP_MIN_CONFIDENCE = 0.5
ROI_SCALE = 1.25
MODEL_LANDMARKS = 39  # 33 pose landmarks, 2 auxiliary (hip centre, scale point), 4 unused
POSE_LANDMARKS = 33
AUX_FILTER = (0.01, 10.0, 1.0)  # One-Euro min cutoff, beta, derivative cutoff of the auxiliary landmarks
CALL_RATE_HZ = 30.0  # MediaPipe's legacy solution stamps each call 1/30 s after the last, whatever the video


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


@dataclass(frozen=True)
class Roi:
    """A square region of an image: centre and side in pixels, rotation in radians (0: upright)."""

    cx: float
    cy: float
    side: float
    rotation: float

    def tensor_to_image(self, size: int) -> np.ndarray:
        """2x3 affine map from pixel (i, j) of a size x size crop to image pixels."""
        c, s, k = math.cos(self.rotation), math.sin(self.rotation), self.side / size
        return np.array([[c * k, -s * k, self.cx - 0.5 * self.side * (c - s)],
                         [s * k, c * k, self.cy - 0.5 * self.side * (s + c)]])

    def to_image(self, xy: np.ndarray) -> np.ndarray:
        """(n, 2) crop-normalised points (0..1 across the square) in image pixels."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        u, v = xy[:, 0] - 0.5, xy[:, 1] - 0.5
        return np.stack([self.cx + self.side * (c * u - s * v), self.cy + self.side * (s * u + c * v)], axis=1)


def normalize_radians(angle: float) -> float:
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def roi_from_points(centre: np.ndarray, scale_point: np.ndarray) -> Roi:
    """The region a detection or the auxiliary landmarks describe: centred on the hips, twice the distance to the
    scale point across (times `ROI_SCALE`), turned so that the scale point is straight up."""
    dx, dy = float(scale_point[0] - centre[0]), float(scale_point[1] - centre[1])
    side = 2.0 * math.hypot(dx, dy) * ROI_SCALE
    return Roi(float(centre[0]), float(centre[1]), side, normalize_radians(math.pi / 2 - math.atan2(-dy, dx)))


@lru_cache(maxsize=1)
def ssd_anchors() -> np.ndarray:
    """(2254, 2) anchor centres of the pose detector, normalised to its input, in the order of its outputs."""
    centres = []
    layer = 0
    while layer < len(DETECTOR_STRIDES):
        stride = DETECTOR_STRIDES[layer]
        same = sum(1 for s in DETECTOR_STRIDES[layer:] if s == stride)  # layers of one stride share a grid
        cells = math.ceil(DETECTOR_SIZE / stride)
        for y in range(cells):
            for x in range(cells):
                centres.extend([((x + 0.5) / cells, (y + 0.5) / cells)] * (ANCHORS_PER_LAYER * same))
        layer += same
    return np.array(centres)


def detector_input(image: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """(1, 224, 224, 3) float input in [-1, 1]: the whole image letterboxed into the square, zero borders; and the
    letterbox padding (x, y) on each side, as fractions of the square."""
    h, w = image.shape[:2]
    side = float(max(w, h))
    roi = Roi(w / 2.0, h / 2.0, side, 0.0)
    crop = cv2.warpAffine(image, roi.tensor_to_image(DETECTOR_SIZE), (DETECTOR_SIZE, DETECTOR_SIZE),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    pad = ((side - w) / (2 * side), (side - h) / (2 * side))
    return (crop.astype(np.float32) / 127.5 - 1.0)[None], pad


def detections(raw_boxes: np.ndarray, raw_scores: np.ndarray, min_score: float, pad: tuple[float, float],
               limit: int = 1) -> list[np.ndarray]:
    """Up to `limit` poses the detector found, best first: each (4, 2) keypoints normalised to the image.

    The detector's raw outputs are decoded against its anchors; the best-scoring box and the boxes overlapping it by
    more than `NMS_IOU` are merged, weighted by score (MediaPipe's weighted non-maximum suppression, of which the
    single-person pose graph keeps the first result), and so on with the boxes left; the letterbox is then taken
    off."""
    scores = sigmoid(np.clip(raw_scores.reshape(-1), -SCORE_CLIP, SCORE_CLIP))
    keep = np.flatnonzero(scores >= min_score)
    if keep.size == 0:
        return []
    raw = raw_boxes.reshape(-1, 12)[keep] / DETECTOR_SIZE
    anchors = ssd_anchors()[keep]
    centre = raw[:, :2] + anchors
    half = raw[:, 2:4] / 2
    boxes = np.concatenate([centre - half, centre + half], axis=1)  # xmin, ymin, xmax, ymax
    keypoints = raw[:, 4:12].reshape(-1, 4, 2) + anchors[:, None, :]
    scores = scores[keep]
    found = []
    left = np.ones(scores.shape[0], dtype=bool)
    while left.any() and len(found) < limit:
        top = int(np.argmax(np.where(left, scores, -1.0)))
        near = left & (iou(boxes[top], boxes) > NMS_IOU)
        weights = scores[near] / scores[near].sum()
        merged = np.einsum("n,nkd->kd", weights, keypoints[near])
        found.append((merged - pad) / (1.0 - 2.0 * np.asarray(pad)))
        left &= ~near
    return found


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over union of one (xmin, ymin, xmax, ymax) box with each of (n, 4)."""
    lo = np.maximum(box[:2], boxes[:, :2])
    hi = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
    area = np.prod(box[2:] - box[:2]) + np.prod(boxes[:, 2:] - boxes[:, :2], axis=1) - inter
    return np.where(area > 0, inter / np.where(area > 0, area, 1.0), 0.0)


def landmark_input(image: np.ndarray, roi: Roi) -> np.ndarray:
    """(1, 256, 256, 3) float input in [0, 1]: the region cut out upright, edges repeated beyond the image."""
    crop = cv2.warpAffine(image, roi.tensor_to_image(LANDMARK_SIZE), (LANDMARK_SIZE, LANDMARK_SIZE),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
    return (crop.astype(np.float32) / 255.0)[None]


def refine_from_heatmap(xy: np.ndarray, heatmap: np.ndarray) -> np.ndarray:
    """Crop-normalised (n, 2) landmarks moved to the confidence-weighted centre of their heatmap around them, where
    the heatmap is confident (peak sigmoid at least `HEATMAP_MIN_CONFIDENCE`). All landmarks at once: each one's
    window is gathered from its own channel, the cells beyond the heatmap's edge weighing nothing."""
    rows, cols, n = heatmap.shape[0], heatmap.shape[1], xy.shape[0]
    half = (HEATMAP_KERNEL - 1) // 2
    col = (xy[:, 0] * cols).astype(np.int64)  # truncation, as MediaPipe casts
    row = (xy[:, 1] * rows).astype(np.int64)
    inside = (col >= 0) & (col < cols) & (row >= 0) & (row < rows)
    offsets = np.arange(-half, half + 1)
    r = row[:, None] + offsets  # (n, kernel)
    c = col[:, None] + offsets
    valid = ((r >= 0) & (r < rows))[:, :, None] & ((c >= 0) & (c < cols))[:, None, :]  # (n, kernel, kernel)
    channel = np.arange(n)[:, None, None]
    values = heatmap[np.clip(r, 0, rows - 1)[:, :, None], np.clip(c, 0, cols - 1)[:, None, :], channel]
    conf = np.where(valid, sigmoid(values), 0.0)
    total = conf.sum(axis=(1, 2))
    refine = inside & (conf.max(axis=(1, 2)) >= HEATMAP_MIN_CONFIDENCE) & (total > 0)
    safe = np.where(total > 0, total, 1.0)
    out = xy.astype(np.float64, copy=True)
    out[:, 0] = np.where(refine, np.einsum("nij,nj->n", conf, c) / cols / safe, out[:, 0])
    out[:, 1] = np.where(refine, np.einsum("nij,ni->n", conf, r) / rows / safe, out[:, 1])
    return out


@dataclass(frozen=True)
class Landmarks:
    """One frame's pose from the landmark model, in the image."""

    image: np.ndarray  # (33, 4) x, y normalised to the image, z (in image widths), visibility
    world: np.ndarray  # (33, 3) metres, hips' centre at the origin, turned with the region
    auxiliary_px: np.ndarray  # (2, 3) hip centre and scale point: x, y pixels, z pixels


def decode_landmarks(raw: np.ndarray, heatmap: np.ndarray, world: np.ndarray, roi: Roi, width: int,
                     height: int) -> Landmarks:
    """The landmark model's outputs for `roi` as image landmarks, world landmarks and the auxiliary points."""
    lm = raw.reshape(MODEL_LANDMARKS, 5).astype(np.float64)
    xy = refine_from_heatmap(lm[:, :2] / LANDMARK_SIZE, heatmap.reshape(heatmap.shape[-3:]))
    px = roi.to_image(xy)
    z = lm[:, 2] / LANDMARK_SIZE * roi.side  # MediaPipe scales z like x: here in pixels
    image = np.column_stack([px[:, 0] / width, px[:, 1] / height, z / width, sigmoid(lm[:, 3])])
    w = world.reshape(MODEL_LANDMARKS, 3)[:POSE_LANDMARKS].astype(np.float64)
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    turned = np.column_stack([c * w[:, 0] - s * w[:, 1], s * w[:, 0] + c * w[:, 1], w[:, 2]])
    aux = np.column_stack([px[POSE_LANDMARKS:POSE_LANDMARKS + 2], z[POSE_LANDMARKS:POSE_LANDMARKS + 2]])
    return Landmarks(image[:POSE_LANDMARKS].astype(np.float32), turned.astype(np.float32), aux)


class AuxiliaryFilter:
    """MediaPipe's One-Euro smoothing of the two auxiliary landmarks (in pixels, scaled by the person's size), which
    steadies the region tracked from frame to frame. Calls are 1/`CALL_RATE_HZ` apart, as in MediaPipe's solution."""

    def __init__(self) -> None:
        self._raw: np.ndarray | None = None
        self._value: np.ndarray | None = None
        self._slope: np.ndarray | None = None

    def reset(self) -> None:
        self._raw = self._value = self._slope = None

    @staticmethod
    def _alpha(cutoff: np.ndarray | float) -> np.ndarray | float:
        tau = 1.0 / (2 * math.pi * np.asarray(cutoff))
        return 1.0 / (1.0 + tau * CALL_RATE_HZ)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """(2, 3) pixels in, smoothed (2, 3) out."""
        min_cutoff, beta, slope_cutoff = AUX_FILTER
        scale = 2.0 * float(np.hypot(*(points[1, :2] - points[0, :2])))  # the unscaled region's side
        if self._raw is None or scale < 1e-6:
            slope = np.zeros_like(points)
        else:
            slope = (points - self._raw) / scale * CALL_RATE_HZ
        self._slope = slope if self._slope is None else self._slope + self._alpha(slope_cutoff) * (slope - self._slope)
        alpha = self._alpha(min_cutoff + beta * np.abs(self._slope))
        self._value = points.copy() if self._value is None else self._value + alpha * (points - self._value)
        self._raw = points.copy()
        return self._value.copy()
