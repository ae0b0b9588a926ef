"""VMC in: avatar and virtual-production tools stream skeletons as VMC over OSC (UDP); they become serve's frames.

The VMC protocol sends each Unity humanoid bone's local transform, `/VMC/Ext/Bone/Pos name px py pz qx qy qz qw`
(position in its parent's space, rotation relative to it), the model root's world transform `/VMC/Ext/Root/Pos`, the
sender's time `/VMC/Ext/T t` (seconds) and `/VMC/Ext/OK` at the end of each frame. At each frame end the legs' chain
(root, Hips, UpperLeg, LowerLeg, Foot, Toes) is composed into world positions and the frame is sent to the service's
poses socket as an ordinary protocol message, so validation, limits and counters are the same as for any client.
Unity is left-handed; footfall needs only heights and distances along the ground, which do not depend on it.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

import numpy as np
import zmq
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer

LEGS = {  # bone -> parent, for the bones whose world positions are needed
    "Hips": None,
    "LeftUpperLeg": "Hips", "LeftLowerLeg": "LeftUpperLeg", "LeftFoot": "LeftLowerLeg", "LeftToes": "LeftFoot",
    "RightUpperLeg": "Hips", "RightLowerLeg": "RightUpperLeg", "RightFoot": "RightLowerLeg", "RightToes": "RightFoot",
}
SENT = ("LeftFoot", "LeftToes", "RightFoot", "RightToes")


def rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """v rotated by the unit quaternion q = (x, y, z, w)."""
    u, w = q[:3], q[3]
    return v + 2.0 * np.cross(u, np.cross(u, v) + w * v)


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The quaternion a * b (apply b, then a), (x, y, z, w)."""
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return np.array([aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz])


def world_positions(root: tuple[np.ndarray, np.ndarray], local: dict[str, tuple[np.ndarray, np.ndarray]]
                    ) -> dict[str, np.ndarray] | None:
    """World positions of SENT from the root's and the leg bones' local transforms; None while one is missing."""
    world: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for bone, parent in LEGS.items():  # parents come first
        if bone not in local:
            return None
        pos, rot = local[bone]
        p_pos, p_rot = root if parent is None else world[parent]
        world[bone] = (p_pos + rotate(p_rot, pos), multiply(p_rot, rot))
    return {b: world[b][0] for b in SENT}


def _unit(q: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(q))
    return q / n if n > 1e-9 else np.array([0.0, 0.0, 0.0, 1.0])


@dataclass
class VmcBridge:
    """Receives VMC on `host:port` and sends one character's frames to `poses` (the service's poses endpoint)."""

    host: str
    port: int
    poses: str
    character: str = "vmc"
    frames: int = 0
    ignored: int = 0

    def start(self, ctx: zmq.Context) -> None:
        self._push = ctx.socket(zmq.PUSH)
        self._push.linger = 0
        self._push.connect(self.poses)
        self._send({"type": "skeleton", "character": self.character, "bones": list(SENT), "scheme": "unity"})
        self._root = (np.zeros(3), np.array([0.0, 0.0, 0.0, 1.0]))
        self._local: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._time_s: float | None = None
        self._started = time.monotonic()
        self._lock = threading.Lock()
        dispatcher = Dispatcher()
        dispatcher.map("/VMC/Ext/Root/Pos", self._on_root)
        dispatcher.map("/VMC/Ext/Bone/Pos", self._on_bone)
        dispatcher.map("/VMC/Ext/T", self._on_time)
        dispatcher.map("/VMC/Ext/OK", self._on_frame_end)
        dispatcher.set_default_handler(lambda *_: None)
        self._server = BlockingOSCUDPServer((self.host, self.port), dispatcher)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="footfall-vmc",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
        self._push.close(0)

    def _transform(self, args: tuple) -> tuple[str, np.ndarray, np.ndarray] | None:
        if len(args) < 8 or not isinstance(args[0], str):
            self.ignored += 1
            return None
        try:
            values = np.array([float(a) for a in args[1:8]])
        except (TypeError, ValueError):
            self.ignored += 1
            return None
        if not np.isfinite(values).all():
            self.ignored += 1
            return None
        return args[0], values[:3], _unit(values[3:7])

    def _on_root(self, _address: str, *args) -> None:
        got = self._transform(args)
        if got is not None:
            with self._lock:
                self._root = (got[1], got[2])

    def _on_bone(self, _address: str, *args) -> None:
        got = self._transform(args)
        if got is not None and got[0] in LEGS:
            with self._lock:
                self._local[got[0]] = (got[1], got[2])

    def _on_time(self, _address: str, *args) -> None:
        if args and isinstance(args[0], (int, float)) and np.isfinite(args[0]) and 0 <= args[0] < 4e9:
            self._time_s = float(args[0])

    def _on_frame_end(self, _address: str, *args) -> None:
        with self._lock:
            positions = world_positions(self._root, self._local)
        if positions is None:
            self.ignored += 1
            return
        seconds = self._time_s if self._time_s is not None else time.monotonic() - self._started
        self._send({"type": "frame", "character": self.character, "time_s": seconds,
                    "joints": {b: [round(float(v), 6) for v in p] for b, p in positions.items()}})
        self.frames += 1

    def _send(self, doc: dict) -> None:
        self._push.send(json.dumps({"v": 1, **doc}).encode())
