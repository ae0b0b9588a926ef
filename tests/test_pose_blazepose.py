"""BlazePose's processing (engine/pose/blazepose.py) piece by piece, and the LiteRT pose runner on the wheel's real
models: against MediaPipe's own solution on a dev clip when ../shared/eval is present."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from footfall.engine.pose import blazepose as bp

DEV_CLIP = Path(__file__).resolve().parents[1].parent / "shared/eval/videos/sports2d_demo4_walk_indoor_side.mp4"


def test_anchors_follow_the_detector_grid():
    anchors = bp.ssd_anchors()
    assert anchors.shape == (2254, 2)
    assert np.allclose(anchors[:2], 0.5 / 28)  # two anchors per cell of the stride-8 grid, row by row
    assert np.allclose(anchors[2], (1.5 / 28, 0.5 / 28))
    assert np.allclose(anchors[1568], 0.5 / 14)  # then the stride-16 grid
    assert np.allclose(anchors[1568 + 392:1568 + 392 + 6], 0.5 / 7)  # three stride-32 layers share cells
    assert np.allclose(anchors[-1], 6.5 / 7)


def _raw_detection(anchor: int, centre_offset, keypoints_offset) -> np.ndarray:
    raw = np.zeros(12)
    raw[:2] = np.asarray(centre_offset) * bp.DETECTOR_SIZE
    raw[2:4] = 0.2 * bp.DETECTOR_SIZE  # box size
    raw[4:12] = np.asarray(keypoints_offset).reshape(-1) * bp.DETECTOR_SIZE
    return raw


def test_detections_merge_overlapping_boxes_by_score_and_remove_the_letterbox():
    anchors = bp.ssd_anchors()
    boxes = np.zeros((2254, 12))
    scores = np.full((2254, 1), -20.0)
    a, b, far = 1000, 1001, 100  # a and b share a cell; far is elsewhere
    kp_a = np.tile([0.01, 0.02], (4, 1))
    kp_b = np.tile([0.03, 0.00], (4, 1))
    boxes[a], boxes[b] = _raw_detection(a, (0, 0), kp_a), _raw_detection(b, (0.01, 0), kp_b)
    boxes[far] = _raw_detection(far, (0, 0), np.zeros((4, 2)))
    scores[a], scores[b], scores[far] = 3.0, 1.0, 0.5
    pad = (0.0, 0.21875)  # a 16:9 frame letterboxed into the square
    got = bp.detections(boxes, scores, 0.5, pad, limit=3)
    wa, wb = bp.sigmoid(3.0), bp.sigmoid(1.0)
    merged = (wa * (anchors[a] + kp_a) + wb * (anchors[b] + kp_b)) / (wa + wb)
    assert len(got) == 2  # a and b are one pose, far another
    assert got[0] == pytest.approx((merged - pad) / (1 - 2 * np.array(pad)))
    assert got[1] == pytest.approx((np.tile(anchors[far], (4, 1)) - pad) / (1 - 2 * np.array(pad)))
    assert len(bp.detections(boxes, scores, 0.5, pad)) == 1  # the single-person graph's: the best only
    assert bp.detections(boxes, scores, 0.99, pad) == []


def test_region_geometry_agrees_between_the_crop_matrix_and_the_projection():
    roi = bp.Roi(320.0, 200.0, 180.0, 0.4)
    ij = np.array([[0, 0], [255, 0], [17, 200], [128, 128]], dtype=float)
    m = roi.tensor_to_image(bp.LANDMARK_SIZE)
    by_matrix = ij @ m[:, :2].T + m[:, 2]
    assert by_matrix == pytest.approx(roi.to_image(ij / bp.LANDMARK_SIZE))
    assert roi.to_image(np.array([[0.5, 0.5]]))[0] == pytest.approx([320.0, 200.0])


@pytest.mark.parametrize("scale_point, rotation", [((100, 50), 0.0), ((150, 100), math.pi / 2),
                                                   ((50, 100), -math.pi / 2)])
def test_region_turns_the_scale_point_straight_up(scale_point, rotation):
    roi = bp.roi_from_points(np.array([100.0, 100.0]), np.array(scale_point, dtype=float))
    assert roi.rotation == pytest.approx(rotation)
    assert roi.side == pytest.approx(2 * 50 * bp.ROI_SCALE)
    # the scale point sits straight above the centre in the crop
    assert roi.to_image(np.array([[0.5, 0.5 - 0.5 / bp.ROI_SCALE]]))[0] == pytest.approx(scale_point, abs=1e-9)


def test_crops_sample_the_region_upright():
    h, w = 120, 160
    image = np.zeros((h, w, 3), dtype=np.uint8)
    image[..., 0] = np.arange(w)[None, :]  # red says x, green says y
    image[..., 1] = np.arange(h)[:, None]
    upright = bp.landmark_input(image, bp.Roi(80.0, 60.0, 64.0, 0.0))[0] * 255
    assert upright[0, 0, :2] == pytest.approx([48, 28], abs=0.01)
    assert upright[0, 128, 0] == pytest.approx(48 + 32, abs=0.01)
    turned = bp.landmark_input(image, bp.Roi(80.0, 60.0, 64.0, math.pi / 2))[0] * 255
    # turned a quarter: the crop's x axis runs down the image
    assert turned[0, 128, :2] == pytest.approx([80 + 32, 60], abs=0.01)
    tensor, pad = bp.detector_input(image)
    assert tensor.shape == (1, 224, 224, 3) and pad == pytest.approx((0.0, 0.125))
    assert tensor[0, 0, 0] == pytest.approx(-1.0)  # letterbox rows are zero pixels


def _refine_by_loops(xy, heatmap):
    out = xy.copy()
    rows, cols, _ = heatmap.shape
    for k in range(xy.shape[0]):
        col, row = int(xy[k, 0] * cols), int(xy[k, 1] * rows)
        if not (0 <= col < cols and 0 <= row < rows):
            continue
        total = wx = wy = peak = 0.0
        for r in range(max(0, row - 3), min(rows, row + 4)):
            for c in range(max(0, col - 3), min(cols, col + 4)):
                conf = 1 / (1 + math.exp(-heatmap[r, c, k]))
                total, wx, wy, peak = total + conf, wx + c * conf, wy + r * conf, max(peak, conf)
        if peak >= 0.5 and total > 0:
            out[k] = (wx / cols / total, wy / rows / total)
    return out


def test_heatmap_refinement_matches_a_plain_loop():
    rng = np.random.default_rng(3)
    heatmap = rng.normal(-1.0, 1.5, size=(64, 64, 6))
    heatmap[..., 5] = -9.0  # never confident: left alone
    xy = np.array([[0.5, 0.5], [0.01, 0.99], [0.3, 0.7], [1.2, 0.5], [0.999, 0.0], [0.4, 0.4]])
    got = bp.refine_from_heatmap(xy, heatmap)
    assert got == pytest.approx(_refine_by_loops(xy, heatmap))
    assert got[3] == pytest.approx(xy[3]) and got[5] == pytest.approx(xy[5])


def test_auxiliary_filter_is_mediapipes_one_euro():
    f = bp.AuxiliaryFilter()
    first = np.array([[100.0, 200.0, 0.0], [100.0, 100.0, 0.0]])  # scale: 2 x 100 px
    assert f(first) == pytest.approx(first)
    moved = first + (10.0, 0.0, 0.0)
    slope = 10.0 / 200.0 * bp.CALL_RATE_HZ  # per second, in units of the person's size
    smoothed_slope = bp.AuxiliaryFilter._alpha(1.0) * slope  # from a first slope of 0
    alpha = bp.AuxiliaryFilter._alpha(0.01 + 10.0 * smoothed_slope)
    assert f(moved)[:, 0] == pytest.approx(100.0 + alpha * 10.0)
    f.reset()
    assert f(moved) == pytest.approx(moved)


def test_landmarks_are_projected_out_of_the_region():
    roi = bp.Roi(400.0, 300.0, 256.0, math.pi / 2)
    raw = np.zeros((bp.MODEL_LANDMARKS, 5))
    raw[:, :2] = 128.0  # every landmark at the crop's centre ...
    raw[0, :2] = (128.0 + 64.0, 128.0)  # ... but the nose, a quarter to the crop's right
    raw[:, 3] = 10.0
    world = np.zeros((bp.MODEL_LANDMARKS, 3))
    world[0] = (1.0, 0.0, 0.5)
    heatmap = np.full((1, 64, 64, bp.MODEL_LANDMARKS), -20.0)  # unconfident: no refinement
    lm = bp.decode_landmarks(raw.reshape(1, -1), heatmap, world.reshape(1, -1), roi, 800, 600)
    assert lm.image.shape == (33, 4) and lm.world.shape == (33, 3)
    assert lm.image[1, :2] == pytest.approx([0.5, 0.5])
    assert lm.image[0, :2] == pytest.approx([0.5, (300.0 + 64.0) / 600])  # the crop's right is the image's down
    assert lm.image[0, 3] == pytest.approx(1.0, abs=1e-4)
    assert lm.world[0] == pytest.approx([0.0, 1.0, 0.5], abs=1e-6)
    assert lm.auxiliary_px[:, :2].ravel() == pytest.approx([400.0, 300.0] * 2)


def test_litert_pose_finds_nobody_in_an_empty_picture():
    from footfall.engine.pose.litert_pose import LiteRTPose

    pose = LiteRTPose(0.5, 0.5)
    sample = pose.process(np.full((360, 640, 3), 128, dtype=np.uint8), 0, 0, 1280, 720)
    assert sample.persons == () and (sample.width, sample.height) == (1280, 720)
    pose.close()


@pytest.mark.skipif(not DEV_CLIP.is_file(), reason="needs ../shared/eval (the dev clips)")
def test_litert_pose_gives_mediapipes_landmarks_on_a_dev_clip():
    import av

    from footfall.engine.pose.litert_pose import LiteRTPose
    from footfall.engine.pose.mediapipe_pose import MediaPipePose, PoseParams

    with av.open(str(DEV_CLIP)) as container:
        frames = [f.to_ndarray(format="rgb24") for _, f in zip(range(90), container.decode(video=0))]
    h, w = frames[0].shape[:2]
    ours, theirs = LiteRTPose(0.5, 0.5), MediaPipePose(PoseParams(backend="mediapipe"))
    found, gaps, visibility = 0, [], []
    for i, frame in enumerate(frames):
        a, b = ours.process(frame, i, 0, w, h), theirs.process(frame, i, 0, w, h)
        assert bool(a.persons) == bool(b.persons), f"frame {i}: one found a person, the other did not"
        if a.persons:
            found += 1
            gaps.append(np.linalg.norm((a.persons[0].landmarks[:, :2] - b.persons[0].landmarks[:, :2]) * (w, h),
                                       axis=1))
            visibility.append(np.abs(a.persons[0].landmarks[:, 3] - b.persons[0].landmarks[:, 3]))
    assert found >= 40
    assert np.median(gaps) < 1.5  # pixels, on a 1280x720 frame
    assert np.median(visibility) < 0.01
