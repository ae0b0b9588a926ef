"""VMC over OSC in: a walking avatar's local bone transforms become the character's steps."""
import time

import numpy as np
import pytest
from pythonosc.udp_client import SimpleUDPClient

from footfall.engine.serve.security import SecurityError
from footfall.engine.streams import walking_feet
from footfall.sources.vmc import multiply, rotate, world_positions
from serve_harness import settings, start
from skeleton_media import skeleton_positions
from test_serve_service import client_for, collect_until_end, offline


def free_udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_quaternions_compose_like_rotations():
    q90y = np.array([0.0, np.sin(np.pi / 4), 0.0, np.cos(np.pi / 4)])
    np.testing.assert_allclose(rotate(q90y, np.array([1.0, 0, 0])), [0, 0, -1], atol=1e-12)
    q180 = multiply(q90y, q90y)
    np.testing.assert_allclose(rotate(q180, np.array([1.0, 0, 0])), [-1, 0, 0], atol=1e-12)
    identity = np.array([0.0, 0, 0, 1])
    local = {b: (np.array([0.0, -0.1, 0]), identity) for b in
             ("Hips", "LeftUpperLeg", "LeftLowerLeg", "LeftFoot", "LeftToes", "RightUpperLeg", "RightLowerLeg",
              "RightFoot", "RightToes")}
    world = world_positions((np.array([0.0, 1.0, 0]), q90y), local)
    np.testing.assert_allclose(world["LeftToes"], [0, 0.5, 0], atol=1e-12)
    del local["RightToes"]
    assert world_positions((np.zeros(3), identity), local) is None


def test_a_vmc_walk_gives_its_steps(tmp_path):
    port = free_udp_port()
    running = start(tmp_path, serve_table={"vmc": f"127.0.0.1:{port}"})
    try:
        with client_for(running) as client:
            osc = SimpleUDPClient("127.0.0.1", port)
            fps = 60
            feet = walking_feet(fps, 3.0)
            pos = skeleton_positions(feet)
            hips = 0.5 * (pos["hip_l"] + pos["hip_r"])
            chain = [("Hips", hips, None)]
            for side, s in (("Left", "l"), ("Right", "r")):
                chain += [(f"{side}UpperLeg", pos[f"hip_{s}"], hips), (f"{side}LowerLeg", pos[f"knee_{s}"],
                          pos[f"hip_{s}"]), (f"{side}Foot", pos[f"foot_{s}"], pos[f"knee_{s}"]),
                          (f"{side}Toes", pos[f"toe_{s}"], pos[f"foot_{s}"])]
            for i in range(feet.shape[0]):
                osc.send_message("/VMC/Ext/T", i / fps)
                osc.send_message("/VMC/Ext/Root/Pos", ["root", 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0])
                for name, world, parent in chain:
                    local = world[i] - (0 if parent is None else parent[i])
                    osc.send_message("/VMC/Ext/Bone/Pos", [name, *map(float, local), 0.0, 0.0, 0.0, 1.0])
                osc.send_message("/VMC/Ext/OK", 1)
                time.sleep(0.002)  # UDP: a sender this fast would overrun the receive buffer
            client.end("vmc")
            got = collect_until_end(client, {"vmc"})["vmc"]
            expected = offline(feet, fps)
            assert len(got) == len(expected) >= 4
            assert all(d["foot"] == f and abs(d["t_ns"] - t) < 1_000_000 for d, (t, f) in zip(got, expected))
    finally:
        running.close()


def test_vmc_beyond_loopback_or_beside_curve_is_refused(tmp_path):
    from footfall.engine.serve.service import serve

    ends = {k: f"ipc://{tmp_path}/{k}" for k in ("poses", "events", "control", "audio")}
    with pytest.raises(SecurityError, match="--insecure"):
        serve(settings(ends, serve_table={"vmc": "0.0.0.0:39539"}), None)
    with pytest.raises(SecurityError, match="beside CURVE"):
        serve(settings(ends, serve_table={"vmc": "127.0.0.1:39539", "curve_secret_key": "x.key_secret",
                                          "curve_clients": "clients"}), None)
