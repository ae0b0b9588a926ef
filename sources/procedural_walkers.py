"""A built-in pose stream of people walking across the frame: demo content and ground truth for the step detector.

Each walker follows a 2-D sagittal gait model, so the real detector sees real-looking gait with exactly known
heel strikes:
- the stance foot is pinned to the ground and rolls heel -> flat -> toe (no skating: heel strike point, foot-flat
  and toe-off pivot are fixed ground points);
- the pelvis advances at constant speed; its height follows the leading leg so that the stance knee traces the
  standard curve (about 4 deg at heel strike, 18 deg loading response, 6 deg mid-stance), then eases down into
  the next double support (twice per stride);
- the swing foot follows standard joint-angle curves (hip +30/-10 deg, knee peak about 60 deg, ankle), bent by a
  Hermite correction so that it leaves the toe-off pose and lands in the heel-strike pose with matching velocity
  (the heel arrives with zero velocity);
- knees come from two-link inverse kinematics, arms swing against the legs, head and hands fill out MediaPipe's
  33-landmark layout.
Left heel strikes at phase 0, right at phase 0.5; stance lasts 60 % of the cycle. Contact means the instant the
heel touches the ground; the heel decelerates to rest there, so the heel's lead over the hip (the usual detector
feature) peaks 25-35 ms before contact, as in real gait.
A pinhole camera at a fixed height projects each walker: `depth` scales the figure and lifts its ground line.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterator, Sequence

import numpy as np
from scipy.interpolate import CubicSpline

from footfall.engine.messages import NS_PER_S, NUM_LANDMARKS, PersonPose, PoseSample, SceneChange

# Gait-cycle events as fractions of the cycle, from heel strike of the same foot.
FOOT_FLAT, HEEL_OFF, TOE_OFF = 0.08, 0.38, 0.60
# The pelvis follows the leading leg up to here, then eases into the next double support.
_PELVIS_HANDOVER = 0.30
_LANDING = 0.80  # terminal swing: from here the heel is steered onto its strike point
_LANDING_SPEED_MPS = 0.15  # the heel's downward speed when it touches the ground
_HEEL_STRIKE_PITCH = math.radians(20.0)  # toe up at heel strike
_TOE_OFF_PITCH = math.radians(45.0)  # heel up at toe-off
_MIN_STANCE_KNEE = math.radians(3.0)
_PELVIC_TILT = math.radians(5.0)  # hip flexion is measured from the pelvis, which tilts forward
_TRUNK_LEAN = math.radians(4.0)
_OFF_FRAME_VISIBILITY = 0.05

# Standard sagittal joint angles over the gait cycle (degrees; flexion / dorsiflexion positive).
_HIP_CURVE = ((0.0, 30), (0.12, 27), (0.3, 8), (0.5, -10), (0.6, -2), (0.7, 15), (0.8, 28), (0.88, 32))
_KNEE_CURVE = ((0.0, 4), (0.15, 18), (0.4, 4), (0.5, 10), (0.6, 38), (0.72, 62), (0.85, 35), (0.95, 5))
_ANKLE_CURVE = ((0.0, 0), (0.07, -6), (0.4, 10), (0.5, 5), (0.62, -18), (0.68, -4), (0.74, 5), (0.8, 9), (0.9, 4))


@dataclass(frozen=True)
class WalkerSpec:
    """One person crossing the frame.

    start_x, end_x: normalised screen x of the pelvis where the walk starts and where the person leaves the scene
    (put them outside 0..1 to walk in from and out past the frame edges). depth: 1.0 = a 1.7 m person about 60 %
    of the frame height; 2.0 = half that size, standing farther back (ground line higher). start_phase: gait phase
    at start_s (0 = left heel strike).
    """

    track_id: int
    start_x: float
    end_x: float
    depth: float
    speed_mps: float
    cadence_spm: float
    start_s: float
    height_m: float = 1.7
    start_phase: float = 0.0

    def __post_init__(self) -> None:
        if self.start_x == self.end_x:
            raise ValueError(f"walker {self.track_id}: start_x and end_x are equal")
        for name in ("depth", "speed_mps", "cadence_spm", "height_m"):
            if not getattr(self, name) > 0:
                raise ValueError(f"walker {self.track_id}: {name} must be positive")


DEFAULT_WALKERS = (
    WalkerSpec(track_id=1, start_x=1.05, end_x=-0.12, depth=2.0, speed_mps=1.05, cadence_spm=100.0, start_s=0.0,
               height_m=1.65, start_phase=0.3),
    WalkerSpec(track_id=2, start_x=-0.12, end_x=1.15, depth=1.0, speed_mps=1.25, cadence_spm=112.0, start_s=3.4,
               height_m=1.78, start_phase=0.8),
)


@dataclass(frozen=True)
class WalkerSceneParams:
    """The scene: frame format, walkers, ground surfaces over time, camera, optional landmark jitter.

    The camera is a pinhole at a fixed height looking level: horizon_y is the normalised screen height of the
    horizon, ground_y the screen height of the ground line at depth 1.0, focal the focal length in frame widths.
    """

    width: int = 1280
    height: int = 720
    fps: float = 30.0
    duration_s: float = 12.0
    walkers: tuple[WalkerSpec, ...] = DEFAULT_WALKERS
    surface_changes: tuple[tuple[float, str], ...] = ((0.0, "wood"), (6.0, "gravel"))
    noise_px: float = 0.0
    seed: int = 0
    horizon_y: float = 0.45
    ground_y: float = 0.92
    focal: float = 0.9

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0 or self.fps <= 0 or self.duration_s <= 0:
            raise ValueError("width, height, fps and duration_s must be positive")
        if not 0 <= self.horizon_y < self.ground_y:
            raise ValueError("horizon_y must lie above ground_y")
        # From TOML the walkers arrive as tables and the surface changes as arrays.
        walkers = tuple(w if isinstance(w, WalkerSpec) else WalkerSpec(**w) for w in self.walkers)
        object.__setattr__(self, "walkers", walkers)
        object.__setattr__(self, "surface_changes", tuple((float(t), str(s)) for t, s in self.surface_changes))
        if len({w.track_id for w in self.walkers}) != len(self.walkers):
            raise ValueError("walker track ids must be distinct")


@dataclass(frozen=True)
class TrueContact:
    """A heel strike of the gait model: exact media time and where the heel is on screen."""

    t_ns: int
    track_id: int
    foot: str
    x: float
    y: float
    on_screen: bool


def frame_rate(fps: float) -> Fraction:
    """The exact rate behind a float fps (30000/1001 for 29.97002997...)."""
    return Fraction(fps).limit_denominator(10_000)


def _periodic_curve(points: tuple[tuple[float, float], ...]) -> CubicSpline:
    x = [p for p, _ in points] + [1.0]
    y = [math.radians(v) for _, v in points] + [math.radians(points[0][1])]
    return CubicSpline(x, y, bc_type="periodic")


def _rotate(angle: np.ndarray, x: np.ndarray | float, y: np.ndarray | float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * x - s * y, s * x + c * y], axis=-1)


def _hermite(s: np.ndarray, p0, v0, p1, v1, span: float) -> np.ndarray:
    """Cubic Hermite on s in 0..1 with end values and end derivatives (per unit of the original parameter)."""
    s = s[..., None]
    s2, s3 = s * s, s * s * s
    return ((2 * s3 - 3 * s2 + 1) * p0 + (s3 - 2 * s2 + s) * span * v0
            + (-2 * s3 + 3 * s2) * p1 + (s3 - s2) * span * v1)


class SagittalGait:
    """One walker's gait cycle in its own frame: forward and up in metres (ground at up = 0), phase in cycles.

    Per-leg quantities are functions of that leg's phase psi (0 = its heel strike), expressed relative to the
    pelvis in the forward direction and absolutely in height.
    """

    def __init__(self, height_m: float, speed_mps: float, cadence_spm: float):
        h = height_m
        self.height_m = h
        self.cycle_s = 120.0 / cadence_spm
        self.stride_m = speed_mps * self.cycle_s
        self.thigh, self.shank = 0.245 * h, 0.246 * h
        self.ankle_height, self.heel_back, self.foot_length = 0.039 * h, 0.036 * h, 0.152 * h
        self._hip = _periodic_curve(_HIP_CURVE)
        self._knee = _periodic_curve(_KNEE_CURVE)
        self._ankle = _periodic_curve(_ANKLE_CURVE)
        self.heel_lead = self._solve_heel_lead()
        self._pelvis_ends = self._pelvis_handover_ends()
        self._swing_joins = self._swing_ends()

    # --- stance: the foot rolls over fixed ground points -------------------------------------------------------
    def _stance_pitch(self, psi: np.ndarray) -> np.ndarray:
        loading = _HEEL_STRIKE_PITCH * (1 - np.minimum(psi, FOOT_FLAT) / FOOT_FLAT) ** 2
        push = _TOE_OFF_PITCH * (np.clip(psi - HEEL_OFF, 0, None) / (TOE_OFF - HEEL_OFF)) ** 2
        return loading - push

    def _stance_foot(self, psi: np.ndarray, heel_lead: float | None = None):
        """(heel, ankle, toe) as (n, 2) arrays and pitch, for the stance phase 0..TOE_OFF."""
        lead = self.heel_lead if heel_lead is None else heel_lead
        pitch = self._stance_pitch(psi)
        rolling_on_toe = pitch < 0
        lf = self.foot_length
        heel_fwd = np.where(rolling_on_toe, lf * (1 - np.cos(pitch)), 0.0) + lead - self.stride_m * psi
        heel_up = np.where(rolling_on_toe, -lf * np.sin(pitch), 0.0)
        heel = np.stack([heel_fwd, heel_up], axis=-1)
        ankle = heel + _rotate(pitch, self.heel_back, self.ankle_height)
        toe = heel + _rotate(pitch, lf, 0.0)
        return heel, ankle, toe, pitch

    def _reach(self, knee: np.ndarray | float) -> np.ndarray:
        """Hip-to-ankle distance for a knee flexion angle."""
        t, s = self.thigh, self.shank
        return np.sqrt(t * t + s * s + 2 * t * s * np.cos(knee))

    def _knee_flexion(self, reach: np.ndarray) -> np.ndarray:
        t, s = self.thigh, self.shank
        return math.pi - np.arccos(np.clip((t * t + s * s - reach * reach) / (2 * t * s), -1.0, 1.0))

    @staticmethod
    def _desired_stance_knee(psi: np.ndarray) -> np.ndarray:
        """4 deg at heel strike, 18 deg loading-response peak at 15 %, back to 6 deg by 30 %."""
        rise = 4 + 14 * np.sin(np.pi / 2 * np.minimum(psi, 0.15) / 0.15) ** 2
        settle = 6 + 12 * np.cos(np.pi / 2 * np.clip(psi - 0.15, 0, 0.15) / 0.15) ** 2
        return np.radians(np.where(psi < 0.15, rise, settle))

    def _leading_pelvis_height(self, psi: np.ndarray, heel_lead: float | None = None) -> np.ndarray:
        _, ankle, _, _ = self._stance_foot(psi, heel_lead)
        reach = self._reach(self._desired_stance_knee(psi))
        return ankle[..., 1] + np.sqrt(np.maximum(reach * reach - ankle[..., 0] ** 2, 0.0))

    def _pelvis_handover_ends(self, heel_lead: float | None = None):
        eps = 1e-6
        f = lambda p: float(self._leading_pelvis_height(np.asarray(p), heel_lead))  # noqa: E731
        start = (f(_PELVIS_HANDOVER), (f(_PELVIS_HANDOVER) - f(_PELVIS_HANDOVER - eps)) / eps)
        end = (f(0.0), (f(eps) - f(0.0)) / eps)
        return start, end

    def pelvis_height(self, psi: np.ndarray, _ends=None, _heel_lead: float | None = None) -> np.ndarray:
        """Hip-joint height; periodic twice per stride (either leg's phase gives the same value)."""
        (y0, v0), (y1, v1) = _ends or self._pelvis_ends
        half = np.mod(psi, 0.5)
        span = 0.5 - _PELVIS_HANDOVER
        eased = _hermite((half - _PELVIS_HANDOVER) / span, y0, v0, y1, v1, span)[..., 0]
        lead = self._leading_pelvis_height(np.minimum(half, _PELVIS_HANDOVER), _heel_lead)
        return np.where(half < _PELVIS_HANDOVER, lead, eased)

    def _min_trailing_knee(self, heel_lead: float) -> float:
        psi = np.linspace(_PELVIS_HANDOVER, TOE_OFF, 121)
        _, ankle, _, _ = self._stance_foot(psi, heel_lead)
        y = self.pelvis_height(psi, self._pelvis_handover_ends(heel_lead), heel_lead)
        reach = np.hypot(ankle[:, 0], y - ankle[:, 1])
        return float(np.min(np.where(reach > self.thigh + self.shank, -1.0, self._knee_flexion(reach))))

    def _solve_heel_lead(self) -> float:
        """How far ahead of the pelvis the heel lands: the shortest that keeps the trailing knee bent >= 3 deg.

        A shorter lead raises the pelvis at heel strike and straightens the trailing leg; a longer one crouches.
        """
        lo, hi = 0.08 * self.stride_m, 0.40 * self.stride_m
        if self._min_trailing_knee(hi) < _MIN_STANCE_KNEE:
            raise ValueError(f"stride {self.stride_m:.2f} m is too long for a {self.height_m:.2f} m walker")
        for _ in range(40):
            mid = 0.5 * (lo + hi)
            lo, hi = (lo, mid) if self._min_trailing_knee(mid) >= _MIN_STANCE_KNEE else (mid, hi)
        return hi

    # --- swing: reference joint curves, bent to leave toe-off smoothly, then a landing onto the heel ---------
    def _swing_reference(self, psi: np.ndarray) -> np.ndarray:
        """(heel forward, heel height, foot pitch) from the standard joint curves, hip at the pelvis."""
        thigh = self._hip(psi) - _PELVIC_TILT
        shank = thigh - self._knee(psi)
        pitch = shank + self._ankle(psi)
        ankle_fwd = self.thigh * np.sin(thigh) + self.shank * np.sin(shank)
        ankle_up = self.pelvis_height(psi) - self.thigh * np.cos(thigh) - self.shank * np.cos(shank)
        heel = np.stack([ankle_fwd, ankle_up], -1) - _rotate(pitch, self.heel_back, self.ankle_height)
        return np.concatenate([heel, pitch[..., None]], axis=-1)

    def _stance_state(self, psi: np.ndarray) -> np.ndarray:
        heel, _, _, pitch = self._stance_foot(psi)
        return np.concatenate([heel, pitch[..., None]], axis=-1)

    def _swing_ends(self):
        """Values and phase derivatives that join the swing to toe-off, to the landing, and at the hand-over."""
        eps = 1e-6
        ts = np.array([TOE_OFF - eps, TOE_OFF])
        stance_lift, ref_lift = self._stance_state(ts), self._swing_reference(ts + eps)
        lift = (stance_lift[1] - ref_lift[0], (stance_lift[1] - stance_lift[0] - ref_lift[1] + ref_lift[0]) / eps)
        hand = self._swing_reference(np.array([_LANDING - eps, _LANDING]))
        land = self._stance_state(np.array([0.0, eps]))
        # The heel comes down with a small vertical speed and no forward speed over the ground.
        land_rate = np.array([-self.stride_m, -_LANDING_SPEED_MPS * self.cycle_s, (land[1, 2] - land[0, 2]) / eps])
        return lift, (hand[1], (hand[1] - hand[0]) / eps), (land[0], land_rate)

    def _swing_state(self, psi: np.ndarray) -> np.ndarray:
        """(heel forward, heel height, pitch) in swing: corrected reference, then a Hermite landing."""
        (d0, v0), (h0, hv0), (l1, lv1) = self._swing_joins
        early_span, late_span = _LANDING - TOE_OFF, 1.0 - _LANDING
        s_early = np.clip((psi - TOE_OFF) / early_span, 0.0, 1.0)
        early = self._swing_reference(np.minimum(psi, _LANDING)) + _hermite(s_early, d0, v0, 0.0, 0.0, early_span)
        late = _hermite(np.clip((psi - _LANDING) / late_span, 0.0, 1.0), h0, hv0, l1, lv1, late_span)
        return np.where((psi < _LANDING)[:, None], early, late)

    # --- one leg, any phase --------------------------------------------------------------------------------
    def leg(self, psi: np.ndarray) -> dict[str, np.ndarray]:
        """Hip, knee, ankle, heel and toe as (n, 2) [forward relative to the pelvis, height] for leg phase psi."""
        psi = np.mod(np.asarray(psi, dtype=np.float64), 1.0)
        stance = psi < TOE_OFF
        st_psi = np.where(stance, psi, 0.0)
        heel_st, ankle_st, toe_st, _ = self._stance_foot(st_psi)
        sw = self._swing_state(np.where(stance, TOE_OFF, psi))
        heel_sw = sw[:, :2]
        ankle_sw = heel_sw + _rotate(sw[:, 2], self.heel_back, self.ankle_height)
        toe_sw = heel_sw + _rotate(sw[:, 2], self.foot_length, 0.0)
        pick = stance[:, None]
        ankle = np.where(pick, ankle_st, ankle_sw)
        heel = np.where(pick, heel_st, heel_sw)
        toe = np.where(pick, toe_st, toe_sw)
        hip = np.stack([np.zeros_like(psi), self.pelvis_height(psi)], axis=-1)
        return {"hip": hip, "knee": self._knee_position(hip, ankle), "ankle": ankle, "heel": heel, "toe": toe}

    def _knee_position(self, hip: np.ndarray, ankle: np.ndarray) -> np.ndarray:
        """Two-link IK, knee forward; an ankle out of reach is treated as on the straight leg's sphere."""
        t, s = self.thigh, self.shank
        to_ankle = ankle - hip
        reach = np.linalg.norm(to_ankle, axis=-1)
        unit = to_ankle / reach[:, None]
        reach = np.minimum(reach, t + s)
        cos_hip = np.clip((t * t + reach * reach - s * s) / (2 * t * reach), -1.0, 1.0)
        return hip + t * _rotate(np.arccos(cos_hip), unit[:, 0], unit[:, 1])

    def joint_angles(self, psi: np.ndarray) -> dict[str, np.ndarray]:
        """Knee flexion and thigh angle from vertical (radians) of the modelled leg, for checking the model."""
        leg = self.leg(psi)
        thigh = leg["knee"] - leg["hip"]
        shank = leg["ankle"] - leg["knee"]
        thigh_angle = np.arctan2(thigh[:, 0], -thigh[:, 1])
        shank_angle = np.arctan2(shank[:, 0], -shank[:, 1])
        return {"thigh": thigh_angle, "knee": thigh_angle - shank_angle}

    # --- whole body ----------------------------------------------------------------------------------------
    def body(self, cycles: np.ndarray) -> np.ndarray:
        """(n, 33, 3) landmarks [forward, up, lateral-left] in metres; the pelvis is at forward = stride * cycles."""
        c = np.asarray(cycles, dtype=np.float64)
        h = self.height_m
        n = c.shape[0]
        out = np.zeros((n, NUM_LANDMARKS, 3))
        pelvis_fwd = self.stride_m * c
        pelvis_up = self.pelvis_height(c)
        for side, phase_shift, lateral in (("left", 0.0, 1.0), ("right", 0.5, -1.0)):
            psi = np.mod(c - phase_shift, 1.0)
            leg = self.leg(psi)
            idx = _LEG_INDICES[side]
            for name in ("hip", "knee", "ankle", "heel", "toe"):
                out[:, idx[name], 0] = pelvis_fwd + leg[name][:, 0]
                out[:, idx[name], 1] = leg[name][:, 1]
                out[:, idx[name], 2] = lateral * _LEG_LATERAL[name] * h
            self._arm(out, psi, pelvis_fwd, pelvis_up, side, lateral)
        self._head(out, pelvis_fwd, pelvis_up)
        return out

    def _shoulder_centre(self, pelvis_fwd: np.ndarray, pelvis_up: np.ndarray) -> np.ndarray:
        trunk = 0.288 * self.height_m
        return np.stack([pelvis_fwd + trunk * math.sin(_TRUNK_LEAN), pelvis_up + trunk * math.cos(_TRUNK_LEAN)], -1)

    def _arm(self, out, psi, pelvis_fwd, pelvis_up, side, lateral) -> None:
        """The arm swings against its own leg: forward when that leg is behind."""
        h = self.height_m
        idx = _ARM_INDICES[side]
        shoulder = self._shoulder_centre(pelvis_fwd, pelvis_up)
        upper_arm = 0.6 * (math.radians(10.0) - self._hip(psi)) - math.radians(3.0)
        elbow_flex = math.radians(18.0) + 0.5 * np.clip(upper_arm + math.radians(12.0), 0, None)
        forearm = upper_arm + elbow_flex
        elbow = shoulder + 0.186 * h * np.stack([np.sin(upper_arm), -np.cos(upper_arm)], -1)
        wrist = elbow + 0.146 * h * np.stack([np.sin(forearm), -np.cos(forearm)], -1)
        along = np.stack([np.sin(forearm), -np.cos(forearm)], -1)
        ahead = np.stack([np.cos(forearm), np.sin(forearm)], -1)
        hand = {"pinky": wrist + 0.050 * h * along - 0.010 * h * ahead,
                "index": wrist + 0.058 * h * along + 0.008 * h * ahead,
                "thumb": wrist + 0.032 * h * along + 0.022 * h * ahead}
        points = {"shoulder": shoulder, "elbow": elbow, "wrist": wrist, **hand}
        lateral_m = {"shoulder": 0.11, "elbow": 0.12, "wrist": 0.11, "pinky": 0.11, "index": 0.10, "thumb": 0.10}
        for name, xy in points.items():
            out[:, idx[name], :2] = xy
            out[:, idx[name], 2] = lateral * lateral_m[name] * h

    def _head(self, out, pelvis_fwd, pelvis_up) -> None:
        h = self.height_m
        ears = self._shoulder_centre(pelvis_fwd, pelvis_up) + np.array([0.0, 0.105 * h])
        for index, (fwd, up, lat) in _FACE.items():
            out[:, index, 0] = ears[:, 0] + fwd * h
            out[:, index, 1] = ears[:, 1] + up * h
            out[:, index, 2] = lat * h


_LEG_INDICES = {
    "left": {"hip": 23, "knee": 25, "ankle": 27, "heel": 29, "toe": 31},
    "right": {"hip": 24, "knee": 26, "ankle": 28, "heel": 30, "toe": 32},
}
# Distance of each leg landmark from the mid-line, in body heights: feet land close to it.
_LEG_LATERAL = {"hip": 0.055, "knee": 0.045, "ankle": 0.035, "heel": 0.033, "toe": 0.042}
_ARM_INDICES = {
    "left": {"shoulder": 11, "elbow": 13, "wrist": 15, "pinky": 17, "index": 19, "thumb": 21},
    "right": {"shoulder": 12, "elbow": 14, "wrist": 16, "pinky": 18, "index": 20, "thumb": 22},
}
# Face landmarks relative to the midpoint between the ears: (forward, up, lateral-left) in body heights.
_FACE = {
    0: (0.062, -0.008, 0.0),  # nose
    1: (0.052, 0.012, 0.009), 2: (0.050, 0.012, 0.018), 3: (0.046, 0.012, 0.027),  # left eye inner, eye, outer
    4: (0.052, 0.012, -0.009), 5: (0.050, 0.012, -0.018), 6: (0.046, 0.012, -0.027),  # right eye
    7: (-0.008, 0.0, 0.046), 8: (-0.008, 0.0, -0.046),  # ears
    9: (0.052, -0.038, 0.014), 10: (0.052, -0.038, -0.014),  # mouth left, right
}


class _Walker:
    """A walker placed in the scene: when it is there, where it is, and its gait."""

    def __init__(self, spec: WalkerSpec, camera: "_PinholeCamera"):
        self.spec = spec
        self.gait = SagittalGait(spec.height_m, spec.speed_mps, spec.cadence_spm)
        self.distance_m = spec.depth * camera.reference_distance_m
        self.start_world_x = camera.world_x(spec.start_x, self.distance_m)
        end_world_x = camera.world_x(spec.end_x, self.distance_m)
        self.direction = 1.0 if end_world_x > self.start_world_x else -1.0
        self.end_s = spec.start_s + abs(end_world_x - self.start_world_x) / spec.speed_mps

    def cycles(self, t_s: np.ndarray) -> np.ndarray:
        return (t_s - self.spec.start_s) / self.gait.cycle_s + self.spec.start_phase

    def world(self, t_s: np.ndarray) -> np.ndarray:
        """(n, 33, 3) world points: X right, Y up, Z away from the camera (metres)."""
        c = self.cycles(t_s)
        local = self.gait.body(c)
        world = np.empty_like(local)
        walked = local[:, :, 0] - self.gait.stride_m * self.spec.start_phase
        world[:, :, 0] = self.start_world_x + self.direction * walked
        world[:, :, 1] = local[:, :, 1]
        # Walking to the right, the person's left side faces away from the camera.
        world[:, :, 2] = self.distance_m + self.direction * local[:, :, 2]
        return world

    def strikes(self, until_s: float) -> list[tuple[float, str]]:
        """Times of every heel strike between the walk's start and its end (or `until_s`)."""
        end = min(self.end_s, until_s)
        first = math.floor(self.spec.start_phase * 2) / 2
        out = []
        k = 0
        while True:
            c = first + 0.5 * k
            k += 1
            t = self.spec.start_s + (c - self.spec.start_phase) * self.gait.cycle_s
            if t < self.spec.start_s:
                continue
            if t >= end:
                return out
            out.append((t, "left" if math.isclose(c % 1.0, 0.0, abs_tol=1e-9) else "right"))


class _PinholeCamera:
    """A level pinhole camera; its height is chosen so the ground at depth 1.0 lies at `ground_y`."""

    REFERENCE_HEIGHT_M = 1.7
    REFERENCE_FILL = 0.6

    def __init__(self, p: WalkerSceneParams):
        self.width, self.height = p.width, p.height
        self.focal_px = p.focal * p.width
        self.horizon_px = p.horizon_y * p.height
        self.reference_distance_m = self.focal_px * self.REFERENCE_HEIGHT_M / (self.REFERENCE_FILL * p.height)
        self.camera_height_m = (p.ground_y - p.horizon_y) * p.height * self.reference_distance_m / self.focal_px

    def world_x(self, screen_x: float, distance_m: float) -> float:
        return (screen_x * self.width - 0.5 * self.width) * distance_m / self.focal_px

    def project(self, world: np.ndarray) -> np.ndarray:
        """(..., 3) world -> (..., 2) normalised screen x, y (y down)."""
        z = world[..., 2]
        u = 0.5 * self.width + self.focal_px * world[..., 0] / z
        v = self.horizon_px + self.focal_px * (self.camera_height_m - world[..., 1]) / z
        return np.stack([u / self.width, v / self.height], axis=-1)


class ProceduralWalkers:
    """The pose stream: one PoseSample per frame, plus the scene's surface changes and the exact heel strikes."""

    _BLOCK = 256

    def __init__(self, params: WalkerSceneParams | None = None):
        self.params = params or WalkerSceneParams()
        p = self.params
        self.rate = frame_rate(p.fps)
        self.frame_count = max(1, int(Fraction(p.duration_s).limit_denominator(1_000_000) * self.rate + Fraction(1, 2)))
        self.duration_ns = self.frame_time_ns(self.frame_count)
        self.camera = _PinholeCamera(p)
        self.walkers = tuple(_Walker(spec, self.camera) for spec in p.walkers)

    def frame_time_ns(self, index: int) -> int:
        """round(index * 1e9 / fps), exactly, in integers."""
        num, den = self.rate.numerator, self.rate.denominator
        return (2 * index * NS_PER_S * den + num) // (2 * num)

    def persons_at(self, walker_index: int, t_ns: np.ndarray) -> np.ndarray:
        """(n, 33, 4) landmarks (x, y, z, visibility) of one walker at arbitrary media times, no jitter."""
        walker = self.walkers[walker_index]
        world = walker.world(np.asarray(t_ns, dtype=np.float64) / NS_PER_S)
        return self._landmarks(world)

    def _landmarks(self, world: np.ndarray) -> np.ndarray:
        screen = self.camera.project(world)
        hip_mid = 0.5 * (world[:, 23] + world[:, 24])
        out = np.empty(world.shape[:2] + (4,), dtype=np.float64)
        out[..., :2] = screen
        # MediaPipe's z: depth relative to the hips, on the same scale as x; smaller is nearer.
        px_per_m = self.camera.focal_px / hip_mid[:, None, 2]
        out[..., 2] = (world[..., 2] - hip_mid[:, None, 2]) * px_per_m / self.params.width
        inside = np.all((screen >= 0.0) & (screen <= 1.0), axis=-1)
        out[..., 3] = np.where(inside, 1.0, _OFF_FRAME_VISIBILITY)
        return out

    @staticmethod
    def _world_landmarks(world: np.ndarray) -> np.ndarray:
        """MediaPipe-style world landmarks: metres around the hip midpoint, y down."""
        hip_mid = 0.5 * (world[:, 23] + world[:, 24])
        rel = world - hip_mid[:, None, :]
        rel[..., 1] *= -1.0
        return rel.astype(np.float32)

    def samples(self) -> Iterator[PoseSample]:
        for block_start in range(0, self.frame_count, self._BLOCK):
            indices = range(block_start, min(block_start + self._BLOCK, self.frame_count))
            yield from self.samples_at([self.frame_time_ns(i) for i in indices], block_start)

    def samples_at(self, t_ns: Sequence[int], first_index: int = 0) -> Iterator[PoseSample]:
        """The scene seen at any media times (a camera's irregular frame times, say), frames numbered on from
        `first_index`."""
        p = self.params
        indices = range(first_index, first_index + len(t_ns))
        t_s = np.array(t_ns, dtype=np.float64) / NS_PER_S
        per_walker = []
        for walker in self.walkers:
            present = (t_s >= walker.spec.start_s) & (t_s < walker.end_s)
            world = walker.world(t_s)
            per_walker.append((walker, present, self._landmarks(world), self._world_landmarks(world)))
        for row, (i, t) in enumerate(zip(indices, t_ns)):
            persons = []
            for walker, present, landmarks, world_lm in per_walker:
                lm = landmarks[row]
                if not present[row] or not np.any(lm[:, 3] >= 1.0):
                    continue
                lm = lm.astype(np.float32)
                if p.noise_px > 0:
                    rng = np.random.default_rng([p.seed, i, walker.spec.track_id])
                    jitter = rng.normal(0.0, p.noise_px, size=(NUM_LANDMARKS, 2))
                    lm[:, 0] += (jitter[:, 0] / p.width).astype(np.float32)
                    lm[:, 1] += (jitter[:, 1] / p.height).astype(np.float32)
                persons.append(PersonPose(walker.spec.track_id, lm, world_lm[row].copy()))
            yield PoseSample(frame_index=i, t_ns=t, width=p.width, height=p.height, persons=tuple(persons))

    def scene_changes(self) -> list[SceneChange]:
        return [SceneChange(t_ns=round(t * NS_PER_S), surface=surface) for t, surface in self.params.surface_changes]

    def contacts(self) -> list[TrueContact]:
        """Every heel strike of every walker while it is in the scene, with the heel's screen position."""
        out = []
        until = self.duration_ns / NS_PER_S
        for index, walker in enumerate(self.walkers):
            for t, foot in walker.strikes(until):
                t_ns = round(t * NS_PER_S)
                heel = self.persons_at(index, np.array([t_ns]))[0, 29 if foot == "left" else 30]
                on_screen = bool(0.0 <= heel[0] <= 1.0 and 0.0 <= heel[1] <= 1.0)
                out.append(TrueContact(t_ns, walker.spec.track_id, foot, float(heel[0]), float(heel[1]), on_screen))
        return sorted(out, key=lambda c: (c.t_ns, c.track_id))

    def true_contacts(self, on_screen_only: bool = False) -> list[tuple[int, int, str]]:
        """(t_ns, track_id, "left"/"right") of the exact heel strikes, in time order."""
        return [(c.t_ns, c.track_id, c.foot) for c in self.contacts() if c.on_screen or not on_screen_only]
