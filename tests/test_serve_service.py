"""footfall serve over tcp://127.0.0.1 and ipc://: a walk in, its steps out; control; reconnection; back-pressure;
bad messages; safety."""
import json

import numpy as np
import pytest
import zmq

from footfall.engine.client import ClientCurve, ClientError, Endpoints, FootfallClient
from footfall.engine.serve.security import SecurityError, create_keys
from footfall.engine.steps.contact3d import ContactDetector3D
from footfall.engine.streams import frame_time_ns, skeleton_stream
from serve_harness import settings, start
from skeleton_media import walk_feet

BONES = ["Hips", "LeftAnkle", "LeftToe", "RightAnkle", "RightToe"]
FAST = {"rate_limit_hz": 1e6, "rate_burst": 100_000}


def client_for(running, **kwargs) -> FootfallClient:
    e = running.ends
    c = FootfallClient(Endpoints(e["poses"], e["events"], e["control"]), **kwargs)
    c.wait_connected()
    return c


def joints(feet_frame: np.ndarray) -> np.ndarray:
    return np.concatenate([[[0.0, 1.0, 0.0]], feet_frame])


def offline(feet: np.ndarray, fps: int, start_ns: int = 0) -> list[tuple[int, str]]:
    """The detector run here on what the client sends (positions rounded to 10 micrometres)."""
    feet = np.round(feet, 5)
    d = ContactDetector3D()
    return [(e.t_ns, e.foot) for s in skeleton_stream(feet, fps, start_ns=start_ns) for e in d.push(s)]


def stream_walk(client: FootfallClient, name: str, feet: np.ndarray, fps: int, start_ns: int = 0,
                end: bool = True) -> None:
    for i in range(feet.shape[0]):
        client.frame(name, start_ns + frame_time_ns(i, fps), joints(feet[i]))
    if end:
        client.end(name)


def settle(client: FootfallClient, received: int, timeout_s: float = 10.0) -> None:
    """Until the service has taken `received` pose messages (poses and control travel on separate sockets)."""
    import time

    deadline = time.monotonic() + timeout_s
    while client.status()["counters"].get("received", 0) < received:
        assert time.monotonic() < deadline, "the service did not take the messages"
        time.sleep(0.01)


def collect_until_end(client: FootfallClient, names: set[str], timeout_s: float = 20.0) -> dict[str, list]:
    import time

    steps: dict[str, list] = {n: [] for n in names}
    waiting = set(names)
    deadline = time.monotonic() + timeout_s
    while waiting and time.monotonic() < deadline:
        for topic, doc in client.messages(0.1):
            if topic == "step" and doc["character"] in steps:
                steps[doc["character"]].append(doc)
            elif topic == "status" and doc.get("kind") == "end":
                waiting.discard(doc["character"])
    assert not waiting, f"no end for {waiting}"
    return steps


@pytest.mark.parametrize("kind", ["tcp", "ipc"])
def test_a_walk_in_gives_its_steps_out_at_the_right_times(tmp_path, kind):
    running = start(tmp_path, kind, limits=FAST)
    try:
        with client_for(running) as client:
            client.describe("hero", BONES)
            feet = walk_feet(60, 4.0)
            stream_walk(client, "hero", feet, 60, end=False)
            settle(client, 1 + feet.shape[0])
            assert client.status()["characters"]["hero"]["scheme"] == "cmu"
            client.end("hero")
            got = collect_until_end(client, {"hero"})["hero"]
            assert [(d["t_ns"], d["foot"]) for d in got] == offline(feet, 60)
            assert len(got) >= 7 and all(0 <= d["delay_ms"] <= 1000 / 60 for d in got)
            status = client.status()
            assert status["counters"]["frames"] == feet.shape[0] and status["counters"]["skeletons"] == 1
            assert "hero" not in status["characters"]  # its end freed the slot
    finally:
        running.close()
    assert running.result["summary"].steps == len(got)


def read_audio(sub: zmq.Socket) -> tuple[int, np.ndarray]:
    """Every audio block that has arrived, joined: (first sample frame, samples)."""
    blocks = {}
    while sub.poll(300):
        _, header, pcm = sub.recv_multipart()
        h = json.loads(header)
        blocks[h["start"]] = np.frombuffer(pcm, "<f4").reshape(h["frames"], h["channels"])
    assert blocks, "no audio"
    starts = sorted(blocks)
    assert all(a + blocks[a].shape[0] == b for a, b in zip(starts, starts[1:])), "audio blocks are contiguous"
    return starts[0], np.concatenate([blocks[k] for k in starts])


def peaks(first: int, audio: np.ndarray, steps: list[dict], sample_rate: int = 48000) -> list[float]:
    out = []
    for d in steps:
        at = d["t_ns"] * sample_rate // 1_000_000_000 - first
        if 0 <= at and at + 2400 <= audio.shape[0]:
            out.append(float(np.abs(audio[at:at + 2400]).max()))
    return out


def test_control_changes_take_effect(tmp_path):
    running = start(tmp_path, limits=FAST)
    try:
        with client_for(running) as client:
            client.describe("hero", BONES)
            feet = walk_feet(60, 2.0)
            stream_walk(client, "hero", feet, 60, end=False)
            settle(client, 1 + feet.shape[0])
            reply = client.set("hero", surface="wood", footwear="sneaker")
            assert reply["surface"] == "wood" and reply["t_ns"] == frame_time_ns(feet.shape[0] - 1, 60)
            with pytest.raises(ClientError, match="not in bank"):
                client.set("hero", surface="lava")
            with pytest.raises(ClientError, match="has sent no skeleton"):
                client.set("nobody", gain_db=0.0)
            with pytest.raises(ClientError, match="no such bank"):
                client.set(bank=str(tmp_path / "missing"))
            everyone = client.set(surface="gravel")
            assert everyone["character"] is None and everyone["surface"] == "gravel"
            client.end("hero")
            collect_until_end(client, {"hero"})
            status = client.status()
            assert status["counters"]["control_requests"] >= 5 and status["counters"]["control_errors"] == 3
            assert client.shutdown()["stopping"]
            running.thread.join(10)
            assert not running.thread.is_alive()
    finally:
        running.close()


def test_scene_changes_are_published(tmp_path):
    running = start(tmp_path)
    try:
        with client_for(running) as client:
            client.describe("hero", BONES)
            settle(client, 1)
            client.set("hero", surface="wood", gain_db=-6.0)
            import time


            deadline = time.monotonic() + 10
            scenes = []
            while not scenes and time.monotonic() < deadline:
                client.frame("hero", 0, joints(walk_feet(30, 0.1)[0]))  # the change reaches the graph's end
                scenes = [d for t, d in client.messages(0.2) if t == "scene"]
            assert scenes[0]["character"] == "hero" and scenes[0]["surface"] == "wood"
            assert scenes[0]["gain_db"] == -6.0
    finally:
        running.close()


def test_gain_silences_a_character(tmp_path):
    """The same walk twice, the second time at -120 dB: its audio is silent where the first one's is not."""
    running = start(tmp_path, limits=FAST)
    try:
        with client_for(running) as client:
            ctx = zmq.Context.instance()
            audio = ctx.socket(zmq.SUB)
            audio.setsockopt(zmq.SUBSCRIBE, b"audio")
            audio.connect(running.ends["audio"])
            client.describe("hero", BONES)
            feet = walk_feet(60, 3.0)
            sent = 1
            for i in range(60):
                client.frame("hero", frame_time_ns(i, 60), joints(feet[0]))
                sent += 1
                if audio.poll(100):
                    break
            base = frame_time_ns(60, 60)
            stream_walk(client, "hero", feet, 60, base, end=False)
            settle(client, sent + feet.shape[0])
            client.set("hero", gain_db=-120.0)
            second = base + frame_time_ns(feet.shape[0] + 60, 60)
            stream_walk(client, "hero", feet, 60, second)
            steps = collect_until_end(client, {"hero"})["hero"]
            client.shutdown()
            first, samples = read_audio(audio)
            loud = peaks(first, samples, [d for d in steps if d["t_ns"] < second])
            quiet = peaks(first, samples, [d for d in steps if d["t_ns"] >= second])
            audio.close(0)
    finally:
        running.close()
    assert loud and quiet
    assert min(loud) > 0.1 and max(quiet) < 1e-4


def test_a_character_gets_a_bank_of_its_own(tmp_path):
    """Two characters walk one after the other; the first has a bank of its own, of clicks 60 dB down: its steps are
    quiet where the other's, on everyone's bank, are not. A bank for everyone afterwards ends it."""
    from footfall.bank.format import save_bank
    from test_render_pipeline import click_bank

    quiet = click_bank()
    save_bank(type(quiet)(quiet.sample_rate, quiet.audio * 1e-3, quiet.offsets, quiet.lengths, quiet.onsets,
                          quiet.entries, "quiet clicks"), tmp_path / "quiet")
    running = start(tmp_path, limits=FAST)
    try:
        with client_for(running) as client:
            audio = zmq.Context.instance().socket(zmq.SUB)
            audio.setsockopt(zmq.SUBSCRIBE, b"audio")
            audio.connect(running.ends["audio"])
            for name in ("hero", "villain"):
                client.describe(name, BONES)
            sent = 2
            for i in range(60):  # until audio flows
                client.frame("hero", frame_time_ns(i, 60), joints(walk_feet(60, 0.1)[0]))
                sent += 1
                if audio.poll(100):
                    break
            settle(client, sent)
            reply = client.set("hero", bank=str(tmp_path / "quiet"))
            assert reply["bank"] == "quiet clicks" and reply["character"] == "hero"
            feet = walk_feet(60, 3.0)
            base = frame_time_ns(60, 60)
            stream_walk(client, "hero", feet, 60, base)
            later = base + frame_time_ns(feet.shape[0] + 60, 60)
            stream_walk(client, "villain", feet, 60, later)
            steps = collect_until_end(client, {"hero", "villain"})
            assert client.set(bank=str(tmp_path / "bank"))["character"] is None  # everyone's again
            client.shutdown()
            first, samples = read_audio(audio)
            hers = peaks(first, samples, steps["hero"])
            others = peaks(first, samples, steps["villain"])
            audio.close(0)
    finally:
        running.close()
    assert hers and others
    assert max(hers) < 2e-3 and min(others) > 0.1


def test_a_restarted_client_and_a_restarted_service_reconnect(tmp_path):
    running = start(tmp_path, limits=FAST)
    ends = running.ends
    feet = walk_feet(60, 2.0)
    try:
        with client_for(running) as first:
            first.describe("hero", BONES)
            stream_walk(first, "hero", feet, 60, end=False)
        with client_for(running) as second:  # a new client (the game restarted) takes over the character
            second.describe("hero", BONES)
            stream_walk(second, "hero", feet, 60, start_ns=10**10)
            got = [d for d in collect_until_end(second, {"hero"})["hero"] if d["t_ns"] >= 10**10]
            assert [(d["t_ns"], d["foot"]) for d in got] == offline(feet, 60, 10**10)
            running.close()  # the service goes away ...
            with pytest.raises(ClientError, match="no answer"):
                second.status(timeout_s=0.3)
            running = start(tmp_path, ends=ends, limits=FAST)  # ... and comes back on the same endpoints
            second.wait_connected()
            assert second.status()["counters"].get("frames", 0) == 0
            second.describe("hero", BONES)
            stream_walk(second, "hero", feet, 60)
            assert len(collect_until_end(second, {"hero"})["hero"]) == len(got)
    finally:
        running.close()


def test_a_slow_subscriber_never_slows_the_engine(tmp_path):
    running = start(tmp_path, serve_table={"send_hwm": 100}, limits=FAST)
    try:
        ctx = zmq.Context.instance()
        stuck = ctx.socket(zmq.SUB)  # subscribes to everything and never reads
        stuck.rcvhwm = 1
        stuck.setsockopt(zmq.SUBSCRIBE, b"")
        stuck.connect(running.ends["events"])
        stuck_audio = ctx.socket(zmq.SUB)
        stuck_audio.rcvhwm = 1
        stuck_audio.setsockopt(zmq.SUBSCRIBE, b"")
        stuck_audio.connect(running.ends["audio"])
        with client_for(running) as client:
            feet = walk_feet(60, 4.0)
            names = {f"walker{k}" for k in range(16)}
            for name in names:
                client.describe(name, BONES)
            for i in range(feet.shape[0]):
                for name in sorted(names):
                    client.frame(name, frame_time_ns(i, 60), joints(feet[i]))
            for name in names:
                client.end(name)
            got = collect_until_end(client, names, timeout_s=60)
            expected = offline(feet, 60)
            assert all([(d["t_ns"], d["foot"]) for d in got[n]] == expected for n in names)
            assert client.status()["counters"]["frames"] == 16 * feet.shape[0]
        stuck.close(0)
        stuck_audio.close(0)
    finally:
        running.close()


def test_invalid_messages_are_answered_on_the_status_topic_and_counted(tmp_path):
    running = start(tmp_path)
    try:
        with client_for(running) as client:
            client.send_raw(b"\x80\x03cos\nsystem\n")  # a pickle: never unpickled
            client.send({"type": "frame", "character": "ghost", "t_ns": 0, "joints": []})
            client.send({"type": "skeleton", "character": "robot", "bones": ["a", "b"]})
            reasons = []
            import time

            deadline = time.monotonic() + 10
            while len(reasons) < 3 and time.monotonic() < deadline:
                reasons += [d["reason"] for t, d in client.messages(0.1)
                            if t == "status" and d.get("kind") == "invalid"]
            assert reasons == ["not_json", "unknown_character", "unmapped_skeleton"]
            counters = client.status()["counters"]
            assert counters["received"] == counters["invalid"] == 3
            assert client.request({"cmd": "ping"})["ok"]
    finally:
        running.close()


def test_binding_beyond_loopback_needs_curve_or_insecure(tmp_path, capsys):
    from footfall.engine.cli import main
    from footfall.engine.serve.service import serve

    ends = {"poses": "tcp://0.0.0.0:5999", "events": "ipc:///tmp/x1", "control": "ipc:///tmp/x2",
            "audio": "ipc:///tmp/x3"}
    with pytest.raises(SecurityError, match="--insecure"):
        serve(settings(ends), None)
    config = tmp_path / "serve.toml"
    config.write_text('[serve]\nevents = "tcp://*:5998"\n')
    assert main(["serve", "--config", str(config)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tcp://*:5998: binding beyond loopback needs CURVE" in err[0]


def test_curve_admits_only_known_clients(tmp_path):
    keys = tmp_path / "keys"
    create_keys(keys, "server")
    create_keys(keys / "clients", "game")
    create_keys(tmp_path / "strangers", "stranger")
    with pytest.raises(SecurityError, match="exists"):
        create_keys(keys, "server")
    running = start(tmp_path, serve_table={"curve_secret_key": str(keys / "server.key_secret"),
                                           "curve_clients": str(keys / "clients")})
    try:
        e = running.ends
        ends = Endpoints(e["poses"], e["events"], e["control"])
        with FootfallClient(ends, ClientCurve(str(keys / "clients" / "game.key_secret"),
                                              str(keys / "server.key"))) as game:
            assert game.status()["ok"]
        with FootfallClient(ends, ClientCurve(str(tmp_path / "strangers" / "stranger.key_secret"),
                                              str(keys / "server.key"))) as stranger:
            with pytest.raises(ClientError, match="no answer"):
                stranger.status(timeout_s=0.5)
        with FootfallClient(ends) as plain:
            with pytest.raises(ClientError, match="no answer"):
                plain.status(timeout_s=0.5)
    finally:
        running.close()


def test_play_bvh_streams_a_take_and_writes_its_steps(tmp_path):
    from footfall.engine.cli import main
    from footfall.engine.evaluation.bvh import parse_bvh, world_positions
    from footfall.engine.evaluation.projection import joint_roles
    from footfall.engine.skeletons import FOOT_ROLES
    from skeleton_media import bvh_text
    from test_skeletons import scheme_names

    running = start(tmp_path)
    try:
        path = tmp_path / "walk.bvh"
        path.write_text(bvh_text(scheme_names("mixamo"), walk_feet(30, 3.0), 30, root="mixamorig:Hips"))
        out = tmp_path / "steps.json"
        port = int(running.ends["poses"].rsplit(":", 1)[1])
        assert main(["play-bvh", str(path), "--connect", f"tcp://127.0.0.1:{port}", "--fast",
                     "--json", str(out)]) == 0
    finally:
        running.close()
    motion = parse_bvh(path.read_text())
    positions = world_positions(motion)
    roles = joint_roles(motion, FOOT_ROLES)
    expected = offline(positions[:, [roles[r] for r in FOOT_ROLES]], 30)
    doc = json.loads(out.read_text())
    assert doc["version"] == 1 and doc["summary"]["steps"] == len(expected)
    assert [(e["t_ns"], e["foot"]) for e in doc["events"]] == expected


def test_play_bvh_without_a_service_is_one_line(tmp_path, capsys):
    from footfall.engine.cli import main
    from skeleton_media import bvh_text
    from test_skeletons import scheme_names

    path = tmp_path / "walk.bvh"
    path.write_text(bvh_text(scheme_names("cmu"), walk_feet(30, 1.0), 30))
    from serve_harness import free_base_port

    assert main(["play-bvh", str(path), "--connect", f"tcp://127.0.0.1:{free_base_port()}"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no answer from footfall serve" in err[0]


def test_play_bvh_prints_the_steps_as_they_come(tmp_path, capsys):
    from footfall.engine.cli import main
    from skeleton_media import bvh_text
    from test_skeletons import scheme_names

    running = start(tmp_path)
    try:
        path = tmp_path / "walk.bvh"
        path.write_text(bvh_text(scheme_names("unity"), walk_feet(60, 2.0), 60))
        port = int(running.ends["poses"].rsplit(":", 1)[1])
        assert main(["play-bvh", str(path), "--connect", f"tcp://127.0.0.1:{port}", "--fast"]) == 0
    finally:
        running.close()
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert len(lines) >= 3 and all(line.startswith("walk  ") and " delay " in line for line in lines)
    assert f"{len(lines)} steps from 1 take(s)" in out.err


def test_poses_on_a_sub_socket_from_a_publishing_game(tmp_path):
    """[serve] poses_pattern = "sub": the game PUBlishes (a topic frame may come first)."""
    import time

    running = start(tmp_path, serve_table={"poses_pattern": "sub"}, limits=FAST)
    try:
        with client_for(running) as client:
            pub = zmq.Context.instance().socket(zmq.PUB)
            pub.linger = 0
            pub.connect(running.ends["poses"])
            describe = json.dumps({"v": 1, "type": "skeleton", "character": "hero", "bones": BONES}).encode()
            deadline = time.monotonic() + 10
            while "hero" not in client.status()["characters"]:  # PUB drops until the subscription is live
                assert time.monotonic() < deadline
                pub.send_multipart([b"poses", describe])
                time.sleep(0.05)
            feet = walk_feet(60, 2.0)
            for i in range(feet.shape[0]):
                doc = {"v": 1, "type": "frame", "character": "hero", "t_ns": frame_time_ns(i, 60),
                       "joints": np.round(joints(feet[i]), 5).tolist()}
                pub.send_multipart([b"poses", json.dumps(doc).encode()])
            pub.send(json.dumps({"v": 1, "type": "end", "character": "hero"}).encode())
            got = collect_until_end(client, {"hero"})["hero"]
            assert [(d["t_ns"], d["foot"]) for d in got] == offline(feet, 60)
            pub.close(0)
    finally:
        running.close()
