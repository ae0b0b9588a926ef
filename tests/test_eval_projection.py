"""Virtual cameras: known points project where the pinhole model says; streams keep the whole walk in frame."""
import numpy as np
import pytest

from footfall.engine.evaluation.projection import (VIEWS, Camera, CameraParams, follow_cameras, look_at, place_camera,
                                                   pose_stream, resample)
from footfall.engine.messages import NUM_LANDMARKS


def test_projection_of_known_points():
    position = np.array([0.0, 1.0, -5.0])
    camera = Camera(position, look_at(position, np.array([0.0, 1.0, 0.0])), 1000.0, 1280, 720)
    uvz = camera.project(np.array([[0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 2.0, 5.0]]))
    np.testing.assert_allclose(uvz[0], [640, 360, 5], atol=1e-9)
    # camera looks along +Z; its right is world -X (right-handed, Y up), so +X lands left of centre
    np.testing.assert_allclose(uvz[1], [640 - 200, 360, 5], atol=1e-9)
    np.testing.assert_allclose(uvz[2], [640, 360 - 100, 10], atol=1e-9)


def walker(frames: int = 60) -> np.ndarray:
    """A rigid stick figure of 33 points (1.7 m tall) moving 3 m along +Z."""
    rng = np.random.default_rng(1)
    body = rng.uniform([-0.2, 0.0, -0.1], [0.2, 1.7, 0.1], size=(NUM_LANDMARKS, 3))
    body[23], body[24] = [0.1, 0.9, 0.0], [-0.1, 0.9, 0.0]
    travel = np.linspace(0, 3, frames)[:, None, None] * np.array([0.0, 0.0, 1.0])
    return body[None] + travel


def test_every_view_keeps_the_walk_in_frame():
    points = walker()
    for view in VIEWS:
        camera = follow_cameras(points, 30) if view == "follow" else place_camera(points, view, CameraParams())
        samples = pose_stream(points, camera, 30)
        xy = np.stack([s.persons[0].landmarks[:, :2] for s in samples])
        assert xy.min() >= 0.04 and xy.max() <= 0.96, view
        assert all(s.persons[0].landmarks[:, 3].min() == 1.0 for s in samples)


def test_views_see_the_walk_from_their_side():
    points = walker()
    side = pose_stream(points, place_camera(points, "side"), 30)
    front = pose_stream(points, place_camera(points, "front"), 30)
    hip_x = [s.persons[0].landmarks[23, 0] for s in side]
    assert abs(hip_x[-1] - hip_x[0]) > 0.3  # crosses the frame
    height = [s.persons[0].landmarks[0, 1] - s.persons[0].landmarks[27, 1] for s in front]
    assert abs(height[-1]) > abs(height[0])  # comes closer: grows


def test_stream_times_are_exact_and_resampling_interpolates():
    points = walker(31)
    samples = pose_stream(resample(points, 30.0, 60), place_camera(points, "side"), 60)
    assert len(samples) == 61
    assert [s.t_ns for s in samples[:4]] == [0, 16_666_666, 33_333_333, 50_000_000]
    mid = resample(points, 30.0, 60)[1]
    np.testing.assert_allclose(mid, 0.5 * (points[0] + points[1]))


def test_the_follow_camera_keeps_the_walker_centred_while_the_ground_moves():
    points = walker()
    cameras = follow_cameras(points, 30)
    samples = pose_stream(points, cameras, 30)
    hips_x = np.array([0.5 * (s.persons[0].landmarks[23, 0] + s.persons[0].landmarks[24, 0]) for s in samples])
    assert np.abs(hips_x - 0.5).max() < 0.1  # behind the walker: the body stays in the middle
    ground = np.array([points[0, 29, 0], 0.0, points[0, 29, 2]])  # where the first heel stood
    seen = np.array([c.project(ground[None])[0] for c in cameras])
    assert seen[:, 2].max() - seen[:, 2].min() > 1.0  # the camera travels: the ground point's distance changes
    with pytest.raises(ValueError):
        place_camera(points, "follow")
