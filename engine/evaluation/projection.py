"""Virtual cameras over motion capture: 3-D joints -> MediaPipe's 33-landmark layout -> PoseSample streams.

Cameras are placed relative to the take's mean direction of travel (side, front, back, oblique 45 degrees, high =
side view raised 35 degrees looking down) and pulled back until the whole walk stays inside the frame, so every case
sees every step. Landmarks follow MediaPipe's definitions: hips at the thigh roots, ankles at the ankle joints, heels
behind and below the ankle in the foot's frame (mocap_contacts.heel_points, the same point that defines contact),
foot_index at the toe tip, face points around the head.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Literal, Sequence

import numpy as np

from footfall.engine.evaluation.bvh import Motion
from footfall.engine.evaluation.mocap_contacts import foot_frames, heel_points
from footfall.engine.messages import NS_PER_S, NUM_LANDMARKS, PersonPose, PoseSample
from footfall.engine.skeletons import ALL_ROLES, Scheme, load_schemes, map_joints

View = Literal["side", "front", "back", "oblique", "high"]
VIEWS: tuple[str, ...] = ("side", "front", "back", "oblique", "high", "follow")  # follow: a handheld camera behind

def joint_roles(motion: Motion, roles: Sequence[str] = ALL_ROLES, schemes: Sequence[Scheme] | None = None,
                source: str = "skeleton") -> dict[str, int]:
    """Index of the joint filling each role, by the skeleton mappings (config/skeletons.toml); a skeleton no
    mapping fits is a SkeletonError naming the joints it lacks."""
    schemes = load_schemes() if schemes is None else schemes
    return map_joints([j.name for j in motion.joints], schemes, roles, source=source)[1]


def landmarks_3d(positions: np.ndarray, roles: dict[str, int], toe_tip_m: float = 0.05) -> np.ndarray:
    """World points (frames, 33, 3) in MediaPipe's layout from joint positions (frames, joints, 3), metres, Y up."""
    p = {role: positions[:, i] for role, i in roles.items()}
    n = positions.shape[0]
    out = np.zeros((n, NUM_LANDMARKS, 3))
    hip_l, hip_r = p["hip_l"], p["hip_r"]
    lateral_l = hip_l - hip_r  # points to the subject's left
    lateral_l /= np.maximum(np.linalg.norm(lateral_l, axis=-1, keepdims=True), 1e-9)
    facing = np.cross(lateral_l, np.array([0.0, 1.0, 0.0]))  # left x up = forward for a right-handed Y-up frame
    facing /= np.maximum(np.linalg.norm(facing, axis=-1, keepdims=True), 1e-9)
    head = p["head"] + 0.5 * (p["head"] - p["neck"])  # BVH Head joints sit at the skull base; move to mid-head
    up = np.array([0.0, 1.0, 0.0])
    face = head + 0.09 * facing
    out[:, 0] = face  # nose
    for k, (side, depth) in enumerate(((1, 0.0), (1, 0.015), (1, 0.03))):  # left eye inner, eye, outer
        out[:, 1 + k] = face + 0.015 * up + (0.01 + depth) * lateral_l - 0.01 * facing
        out[:, 4 + k] = face + 0.015 * up - (0.01 + depth) * lateral_l - 0.01 * facing
    out[:, 7] = head + 0.075 * lateral_l  # ears
    out[:, 8] = head - 0.075 * lateral_l
    out[:, 9] = face - 0.04 * up + 0.02 * lateral_l - 0.01 * facing  # mouth
    out[:, 10] = face - 0.04 * up - 0.02 * lateral_l - 0.01 * facing
    for side, l_or_r in ((0, "l"), (1, "r")):
        out[:, 11 + side] = p[f"shoulder_{l_or_r}"]
        out[:, 13 + side] = p[f"elbow_{l_or_r}"]
        wrist = p[f"wrist_{l_or_r}"]
        out[:, 15 + side] = wrist
        hand = wrist - p[f"elbow_{l_or_r}"]
        hand /= np.maximum(np.linalg.norm(hand, axis=-1, keepdims=True), 1e-9)
        out[:, 17 + side] = wrist + 0.08 * hand  # pinky, index, thumb: near the hand's end
        out[:, 19 + side] = wrist + 0.09 * hand
        out[:, 21 + side] = wrist + 0.05 * hand
        out[:, 23 + side] = p[f"hip_{l_or_r}"]
        out[:, 25 + side] = p[f"knee_{l_or_r}"]
        ankle, toe = p[f"foot_{l_or_r}"], p[f"toe_{l_or_r}"]
        out[:, 27 + side] = ankle
        out[:, 29 + side] = heel_points(ankle, toe)
        forward, _ = foot_frames(ankle, toe)
        out[:, 31 + side] = toe + toe_tip_m * forward
    return out


def resample(points: np.ndarray, source_fps: float, target_fps: float) -> np.ndarray:
    """Linear interpolation of (frames, ...) at target_fps over the take's duration (frame times i / fps)."""
    n = points.shape[0]
    duration = (n - 1) / source_fps
    m = int(np.floor(duration * target_fps + 1e-9)) + 1
    t = np.arange(m) / target_fps * source_fps
    i0 = np.minimum(np.floor(t).astype(int), n - 1)
    i1 = np.minimum(i0 + 1, n - 1)
    w = (t - i0).reshape((-1,) + (1,) * (points.ndim - 1))
    return (1 - w) * points[i0] + w * points[i1]


@dataclass(frozen=True)
class CameraParams:
    width: int = 1280
    height: int = 720
    hfov_deg: float = 60.0
    camera_height_m: float = 1.1
    high_elevation_deg: float = 35.0
    margin: float = 0.05  # keep every landmark this far (fraction of the frame) inside the edges
    min_distance_m: float = 2.5
    follow_distance_m: float = 3.5  # follow: how far behind the walker the camera is carried ...
    follow_lag_s: float = 0.4  # ... how late it follows the hips (an operator's smoothing) ...
    follow_shake_m: float = 0.015  # ... and how much the hands shake it


@dataclass(frozen=True, eq=False)
class Camera:
    """Pinhole camera: world -> camera by `rotation` (rows = camera x right, y down, z forward) about `position`."""

    position: np.ndarray
    rotation: np.ndarray
    focal_px: float
    width: int
    height: int

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        return (points - self.position) @ self.rotation.T

    def project(self, points: np.ndarray) -> np.ndarray:
        """Pixel coordinates (..., 2) and depth (..., 1) stacked as (..., 3)."""
        c = self.to_camera(points)
        z = np.maximum(c[..., 2:3], 1e-6)
        uv = self.focal_px * c[..., :2] / z + np.array([self.width / 2, self.height / 2])
        return np.concatenate([uv, z], axis=-1)


def look_at(position: np.ndarray, target: np.ndarray) -> np.ndarray:
    forward = target - position
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, np.array([0.0, 1.0, 0.0]))
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    return np.stack([right, down, forward])


STILL_M = 0.5  # hips that end up closer than this to where they began did not travel: the facing says where to


def travel_direction(hips: np.ndarray, left_hip: np.ndarray | None = None,
                     right_hip: np.ndarray | None = None) -> np.ndarray:
    """Unit horizontal direction of travel: the mean displacement of the hips over the take; for a person who stays
    put, the way the hips face at the start (given both hips); +Z failing both."""
    d = hips[-1] - hips[0]
    d[1] = 0.0
    norm = np.linalg.norm(d)
    if norm < STILL_M and left_hip is not None and right_hip is not None:
        facing = np.cross(left_hip[0] - right_hip[0], np.array([0.0, 1.0, 0.0]))
        facing[1] = 0.0
        if np.linalg.norm(facing) > 1e-6:
            return facing / np.linalg.norm(facing)
    return d / norm if norm > 1e-6 else np.array([0.0, 0.0, 1.0])


def place_camera(points: np.ndarray, view: str, params: CameraParams = CameraParams()) -> Camera:
    """A camera for `view` that keeps all of `points` (frames, 33, 3) inside the frame for the whole take."""
    if view not in VIEWS or view == "follow":
        raise ValueError(f"no fixed camera for view {view!r} (have: {', '.join(VIEWS[:-1])}; follow: follow_cameras)")
    hips = 0.5 * (points[:, 23] + points[:, 24])
    travel = travel_direction(hips, points[:, 23], points[:, 24])
    side = np.cross(np.array([0.0, 1.0, 0.0]), travel)  # horizontal, perpendicular to travel
    lo, hi = points.reshape(-1, 3).min(axis=0), points.reshape(-1, 3).max(axis=0)
    centre = 0.5 * (lo + hi)
    centre[1] = 0.5 * (lo[1] + hi[1])
    half_length = 0.5 * float(np.dot(hips[-1] - hips[0], travel))
    direction = {
        "side": side, "front": travel, "back": -travel,
        "oblique": (side + travel) / np.sqrt(2.0), "high": side,
    }[view]
    elevation = np.radians(params.high_elevation_deg) if view == "high" else 0.0
    focal = params.width / 2 / np.tan(np.radians(params.hfov_deg) / 2)
    # front/back cameras stand beyond the end of the walk; the others face its middle
    along = abs(half_length) if view in ("front", "back") else 0.0
    distance = params.min_distance_m
    for _ in range(60):
        offset = direction * (along + distance * np.cos(elevation))
        position = centre + offset
        position[1] = params.camera_height_m + distance * np.sin(elevation)
        camera = Camera(position, look_at(position, centre), focal, params.width, params.height)
        uvz = camera.project(points.reshape(-1, 3))
        m = params.margin
        inside = ((uvz[:, 0] >= m * params.width) & (uvz[:, 0] <= (1 - m) * params.width)
                  & (uvz[:, 1] >= m * params.height) & (uvz[:, 1] <= (1 - m) * params.height)
                  & (uvz[:, 2] > 0.5))
        if inside.all():
            return camera
        distance *= 1.1
    return camera


def follow_cameras(points: np.ndarray, fps: float, params: CameraParams = CameraParams()) -> list[Camera]:
    """One camera per frame, carried behind the walker (frames, 33, 3) the way a handheld follow shot is: it keeps
    `follow_distance_m` behind the hips along the direction of travel, follows them `follow_lag_s` late, looks at
    them, and shakes a little. The body stays near the frame's centre while the ground moves under it: the case
    where the heel's lead along the travel direction shows no motion against the camera."""
    hips = 0.5 * (points[:, 23] + points[:, 24])
    focal = params.width / 2 / np.tan(np.radians(params.hfov_deg) / 2)
    alpha = 1.0 - np.exp(-1.0 / (float(fps) * params.follow_lag_s))
    target = hips[0].copy()
    travel = travel_direction(hips)
    heading = travel.copy()
    t = np.arange(points.shape[0]) / float(fps)
    shake = params.follow_shake_m * np.stack([np.sin(2 * np.pi * 1.3 * t), np.sin(2 * np.pi * 0.7 * t + 1.0),
                                              np.sin(2 * np.pi * 0.9 * t + 2.0)], axis=1)
    cameras = []
    for i in range(points.shape[0]):
        if i:
            step = hips[i] - hips[i - 1]
            step[1] = 0.0
            if np.linalg.norm(step) > 1e-4:  # turn with the walker, slowly; standing, keep the last heading
                heading = (1 - alpha) * heading + alpha * step / np.linalg.norm(step)
                heading /= np.linalg.norm(heading)
        target = (1 - alpha) * target + alpha * hips[i]
        position = target - heading * params.follow_distance_m + shake[i]
        position[1] = params.camera_height_m + 0.4 + shake[i, 1]
        look = target.copy()
        look[1] = hips[i, 1] - 0.2
        cameras.append(Camera(position, look_at(position, look), focal, params.width, params.height))
    return cameras


def pose_stream(points: np.ndarray, camera: Camera | Sequence[Camera], fps: Fraction | int,
                track_id: int = 0) -> list[PoseSample]:
    """PoseSamples at exact frame times i * 1e9 / fps (integer ns) from world landmarks (frames, 33, 3), seen by one
    camera, or by one camera per frame (a moving camera: `follow_cameras`).

    x, y are normalised to the frame; z is depth relative to the hips' midpoint in the same scale as x (MediaPipe's
    convention); visibility is 1 inside the frame and 0.1 outside. `world` is metres about the hips' midpoint in the
    camera's axes (x right, y down, z away), like MediaPipe's world landmarks.
    """
    samples = []
    for i, frame_points in enumerate(points):
        camera_now = camera if isinstance(camera, Camera) else camera[i]
        uvz = camera_now.project(frame_points)
        hip_depth = 0.5 * (uvz[23, 2] + uvz[24, 2])
        lm = np.empty((NUM_LANDMARKS, 4), dtype=np.float32)
        lm[:, 0] = uvz[:, 0] / camera_now.width
        lm[:, 1] = uvz[:, 1] / camera_now.height
        lm[:, 2] = (uvz[:, 2] - hip_depth) * camera_now.focal_px / hip_depth / camera_now.width
        inside = (lm[:, 0] >= 0) & (lm[:, 0] <= 1) & (lm[:, 1] >= 0) & (lm[:, 1] <= 1)
        lm[:, 3] = np.where(inside, 1.0, 0.1)
        cam = camera_now.to_camera(frame_points)
        world = (cam - 0.5 * (cam[23] + cam[24])).astype(np.float32)
        person = PersonPose(track_id, lm, world)
        samples.append(PoseSample(i, int(i * NS_PER_S // Fraction(fps)), camera_now.width, camera_now.height,
                                  (person,)))
    return samples
