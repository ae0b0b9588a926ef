"""Several people through the pose pool: LiteRT's regions (the default) or the Tasks PoseLandmarker in the workers,
ids from the tracker on the ordered output. Runs the real MediaPipe models (they ship inside the mediapipe wheel) on a
few small frames it draws: two cartoon people, which MediaPipe's detector takes for people."""
from __future__ import annotations

import numpy as np
import pytest

from footfall.engine.messages import LEFT_HIP, RIGHT_HIP, VideoFrame
from footfall.engine.pose.mediapipe_pose import PoseParams
from footfall.engine.pose.person_tracker import PersonTrackerParams
from footfall.engine.pose.pool import PosePool

W, H = 320, 240
FRAME_NS = 33_333_333
SKIN, HAIR, SHIRT, TROUSERS, DARK = (224, 172, 140), (30, 20, 10), (40, 80, 200), (40, 40, 60), (20, 20, 20)
BACKGROUND = (170, 190, 170)
_YY, _XX = np.mgrid[0:H, 0:W].astype(np.float64)


def _capsule(image: np.ndarray, p, q, radius: float, colour) -> None:
    """Fills every pixel within `radius` of the segment p-q."""
    (px, py), (qx, qy) = p, q
    dx, dy = qx - px, qy - py
    t = np.clip(((_XX - px) * dx + (_YY - py) * dy) / max(dx * dx + dy * dy, 1e-9), 0.0, 1.0)
    image[np.hypot(_XX - px - t * dx, _YY - py - t * dy) <= radius] = colour


def _ellipse(image: np.ndarray, cx: float, cy: float, rx: float, ry: float, colour, upper_half: bool = False) -> None:
    mask = ((_XX - cx) / rx) ** 2 + ((_YY - cy) / ry) ** 2 <= 1.0
    if upper_half:
        mask &= _YY <= cy
    image[mask] = colour


def draw_person(image: np.ndarray, cx: float, top: float, s: float) -> None:
    """A cartoon person facing the camera, about 9 `s` tall, the top of the head at `top`; hips at top + 3.6 s."""
    head_y, shoulders, hips = top + 0.6 * s, top + 1.4 * s, top + 3.6 * s
    _ellipse(image, cx, head_y, 0.45 * s, 0.6 * s, SKIN)
    _ellipse(image, cx, head_y - 0.35 * s, 0.47 * s, 0.3 * s, HAIR, upper_half=True)
    for dx in (-0.17, 0.17):
        _ellipse(image, cx + dx * s, head_y - 0.05 * s, 0.07 * s, 0.07 * s, DARK)
    _capsule(image, (cx, top + 1.1 * s), (cx, shoulders), 0.18 * s, SKIN)
    for f in np.linspace(0.0, 1.0, 8):  # the torso narrows from the shoulders to the hips
        y, half = shoulders + f * (hips - shoulders), (0.8 - 0.25 * f) * s
        _capsule(image, (cx - half, y), (cx + half, y), 0.2 * s, SHIRT)
    for side in (-1, 1):
        elbow, hand = (cx + side * 1.25 * s, shoulders + 1.5 * s), (cx + side * 1.35 * s, shoulders + 2.7 * s)
        _capsule(image, (cx + side * 0.95 * s, shoulders + 0.2 * s), elbow, 0.2 * s, SHIRT)
        _capsule(image, elbow, hand, 0.16 * s, SKIN)
        knee, ankle = (cx + side * 0.55 * s, hips + 2.2 * s), (cx + side * 0.6 * s, hips + 4.3 * s)
        _capsule(image, (cx + side * 0.45 * s, hips), knee, 0.3 * s, TROUSERS)
        _capsule(image, knee, ankle, 0.25 * s, TROUSERS)
        _capsule(image, (ankle[0], ankle[1] + 0.1 * s), (ankle[0] + side * 0.35 * s, ankle[1] + 0.2 * s), 0.15 * s,
                 DARK)


def two_people_frames(n: int) -> list[VideoFrame]:
    """Two people stepping towards each other, 2 pixels a frame each: one on the left, one on the right."""
    frames = []
    for i in range(n):
        image = np.empty((H, W, 3), np.uint8)
        image[:] = BACKGROUND
        draw_person(image, 90 + 2 * i, 20, 20)
        draw_person(image, 230 - 2 * i, 30, 18)
        frames.append(VideoFrame(i, i * FRAME_NS, FRAME_NS, W, H, image))
    return frames


@pytest.fixture(scope="module")
def frames() -> list[VideoFrame]:
    return two_people_frames(8)


@pytest.fixture
def cache(tmp_path_factory, monkeypatch):
    """A footfall cache of this module's own, built once: where the parent writes the PoseLandmarker bundle."""
    root = tmp_path_factory.getbasetemp() / "footfall-people-cache"
    monkeypatch.setenv("FOOTFALL_CACHE", str(root))
    return root


def hip_x(person) -> float:
    return float(person.landmarks[[LEFT_HIP, RIGHT_HIP], 0].mean())


@pytest.mark.parametrize("backend", ["litert", "mediapipe"])
def test_several_people_get_stable_ids_from_the_tracker_after_birth(frames, cache, backend):
    tracking = PersonTrackerParams(birth_frames=3)
    with PosePool(PoseParams(workers=2, max_people=2, tracking=tracking, backend=backend), H, W) as pool:
        if backend == "mediapipe":
            assert list((cache / "models").glob("*.task")), "the parent builds the bundle before the workers start"
        samples = list(pool.map(iter(frames)))
    assert [s.frame_index for s in samples] == list(range(len(frames)))
    # People are named left to right once seen on birth_frames frames in a row; offline, from their first frame.
    for s in samples:
        assert [p.track_id for p in s.persons] == [0, 1]
        left, right = s.persons
        assert hip_x(left) < 0.5 < hip_x(right)


def test_one_person_keeps_the_legacy_path_and_id_zero(frames):
    # The legacy solution follows one of the two from the first frame on, unnamed by any tracker: always id 0.
    with PosePool(PoseParams(workers=2), H, W) as pool:
        samples = list(pool.map(iter(frames)))
    assert all(len(s.persons) == 1 and s.persons[0].track_id == 0 for s in samples)
