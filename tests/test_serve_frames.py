"""footfall serve --frames over tcp://127.0.0.1: a stick-figure walker's pictures in (JPEG and raw RGB, at the clip's
times), its steps out as `render --mode live` finds them on the same clip, audio out; bad picture messages counted
with reasons; pictures faster than pose dropped and counted while steps still come and control answers.

Runs the real pose models (they ship inside the mediapipe wheel) on a clip the test draws."""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import zmq
from hypothesis import given, settings as hypothesis_settings
from hypothesis import strategies as st

from footfall.bank.format import save_bank
from footfall.engine.client import Endpoints, FootfallClient
from footfall.engine.demo import draw_picture
from footfall.engine.graph.policy import LIVE, OFFLINE, SERVE_FRAMES
from footfall.engine.render import render_file
from footfall.engine.serve.bench import free_base_port
from footfall.engine.messages import VideoFrame
from footfall.engine.serve.frame_intake import FrameIntake
from footfall.engine.serve.protocol import ProtocolError
from footfall.engine.serve.security import SecurityError
from footfall.engine.serve.service import ServeParams
from footfall.sinks.stick_figure_video import StickFigureParams
from footfall.sources.pictures import JpegEncoder, PictureDecoder, PictureError, jpeg_size
from footfall.sources.procedural_walkers import DEFAULT_WALKERS, ProceduralWalkers, WalkerSceneParams
from footfall.sources.video_file import VideoSourceParams, analysis_size
from media import decoded_pictures
from serve_harness import settings, start
from test_render_pipeline import click_bank

W, H, FPS = 640, 360, 30
ONE_WORKER = {"workers": 1}


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """One stick figure walking across at depth 1, drawn with thick lines (the pose model finds it)."""
    path = tmp_path_factory.mktemp("frames") / "walker.mp4"
    walker = replace(DEFAULT_WALKERS[1], start_s=0.0, start_x=0.0, end_x=1.0)
    scene = WalkerSceneParams(width=W, height=H, fps=FPS, duration_s=4.0, walkers=(walker,))
    draw_picture(ProceduralWalkers(scene), path, StickFigureParams(width=W, height=H, fps=FPS, line_width=14))
    return path


def pictures_of(clip: Path) -> list[tuple[np.ndarray, int]]:
    """The clip's pictures with their media time in ns from the first (as the file source times them)."""
    pictures = decoded_pictures(clip)
    first = pictures[0][1]
    return [(rgb, (pts - first) * tb.numerator * 1_000_000_000 // tb.denominator) for rgb, pts, tb in pictures]


def render_live_steps(clip: Path, tmp_path: Path, pose: dict) -> list[tuple[int, str]]:
    """What `footfall render --mode live` finds on the clip, with the service's settings."""
    rs = settings({}).render
    rs = replace(rs, steps=replace(rs.steps, mode="live"), pose=replace(rs.pose, **pose))
    events = tmp_path / "events.json"
    if not (tmp_path / "bank").exists():
        save_bank(click_bank(), tmp_path / "bank")
    render_file(clip, tmp_path / "out.wav", rs, events, bank_spec=str(tmp_path / "bank"))
    return [(e["t_ns"], e["foot"]) for e in json.loads(events.read_text())["events"]]


def start_frames(tmp_path: Path, pose: dict | None = None, **serve):
    frames = f"tcp://127.0.0.1:{free_base_port(1)}"
    table = {"frames": frames, "frames_max_side": W, **serve}
    running = start(tmp_path, serve_table=table, pose=pose)
    e = running.ends
    client = FootfallClient(Endpoints(e["poses"], e["events"], e["control"], frames))
    client.wait_connected()
    return running, client


def wait_posed(client: FootfallClient, t_ns: int, timeout_s: float = 20.0) -> None:
    """Until pose has taken the picture of media time `t_ns` (control requests, answered while pictures flow)."""
    deadline = time.monotonic() + timeout_s
    while True:
        posed = client.status()["frames"]["posed_ns"]
        if posed is not None and posed >= t_ns:
            return
        assert time.monotonic() < deadline, "pose did not take the picture"
        time.sleep(0.002)


def until_stopped(client: FootfallClient, timeout_s: float = 20.0) -> tuple[list[dict], list[dict]]:
    """Shuts the service down and reads its events to the end: (steps, status messages)."""
    client.shutdown()
    steps, statuses = [], []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for topic, doc in client.messages(0.1):
            if topic == "step":
                steps.append(doc)
            elif topic == "status":
                statuses.append(doc)
                if doc.get("kind") == "stopped":
                    return steps, statuses
    raise AssertionError("no stopped status")


def audio_subscriber(running) -> tuple[zmq.Context, zmq.Socket]:
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"audio")
    sub.connect(running.ends["audio"])
    return ctx, sub


def audio_blocks(sub: zmq.Socket) -> list[dict]:
    headers = []
    while sub.poll(300):
        headers.append(json.loads(sub.recv_multipart()[1]))
    return headers


@pytest.mark.parametrize("fmt", ["rgb24", "jpeg"])
def test_a_walkers_pictures_in_give_the_steps_render_live_finds(clip, tmp_path, fmt):
    """Each picture sent at the clip's time and posed before the next (no drops), one pose worker as in the
    reference, so both see the same pictures in the same order: raw RGB gives exactly render --mode live's steps
    (the same pixels), JPEG (quantiser 3, a mean error of about 1.5 levels) the same steps within two frames."""
    expected = render_live_steps(clip, tmp_path, ONE_WORKER)
    assert len(expected) >= 4
    running, client = start_frames(tmp_path, ONE_WORKER)
    ctx, sub = audio_subscriber(running)
    try:
        time.sleep(0.2)  # the audio subscription goes live
        encoder = JpegEncoder(3)
        pictures = pictures_of(clip)
        for rgb, t_ns in pictures:
            client.send_frame(t_ns, rgb if fmt == "rgb24" else encoder.encode(rgb))
            wait_posed(client, t_ns)
        status = client.status()
        steps, _ = until_stopped(client)
        blocks = audio_blocks(sub)
    finally:
        client.close()
        ctx.destroy(0)
        running.close()
    assert status["counters"]["frames"] == len(pictures) and status["frames"]["dropped"] == 0
    got = [(d["t_ns"], d["foot"]) for d in steps]
    assert all(d["character"] == "person0" and d["engine_ms"] >= 0 for d in steps)
    if fmt == "rgb24":
        assert got == expected
    else:  # measured: 5 steps against 5, 9 to 48 ms from render's (median 14): JPEG moves the landmarks a little
        assert abs(len(got) - len(expected)) <= 1
        frame_ns = 1_000_000_000 // FPS
        errors = [min(abs(t - u) for u, _ in got) for t, _ in expected]
        assert max(errors) <= 2 * frame_ns and np.median(errors) <= frame_ns
    assert blocks and sum(b["frames"] for b in blocks) >= 3.5 * 48000  # the clip's audio, rendered by watermark
    assert [b["start"] for b in blocks] == sorted(b["start"] for b in blocks)


def raw_push(ctx: zmq.Context, endpoint: str) -> zmq.Socket:
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.connect(endpoint)
    return push


def header(**fields) -> bytes:
    return json.dumps({"v": 1, "type": "frame", "t_ns": 0, "format": "rgb24", "width": 8, "height": 8,
                       **fields}).encode()


def test_bad_picture_messages_are_counted_and_answered_with_reasons(tmp_path):
    running, client = start_frames(tmp_path, ONE_WORKER, frames_max_bytes=4096)
    ctx = zmq.Context()
    push = raw_push(ctx, client.endpoints.frames)
    good = bytes(8 * 8 * 3)
    bad = [
        ([b"{not json", good], "not_json"),
        ([header(v=2), good], "bad_version"),
        ([header()], "bad_parts"),
        ([header(), good, good], "bad_parts"),
        ([header(type="skeleton"), good], "bad_type"),
        ([header(format="png"), good], "bad_format"),
        ([header(width=W + 1), good], "bad_size"),
        ([header(width=10**9, height=10**9), good], "bad_size"),
        ([header(t_ns=-5), good], "bad_time"),
        ([header(), good[:-1]], "bad_payload"),
        ([header(format="jpeg"), b"\xff\xd8garbage"], "bad_picture"),
        ([header(format="jpeg", width=16, height=16), JpegEncoder().encode(np.zeros((8, 8, 3), np.uint8))],
         "bad_picture"),
        ([header(width=40, height=40), bytes(40 * 40 * 3)], "too_large"),
    ]
    try:
        for parts, _ in bad:
            push.send_multipart(parts)
        push.send_multipart([header(t_ns=1_000, extra={"anything": [1, 2]}), good])  # unknown fields: ignored
        push.send_multipart([header(t_ns=1_000), good])  # its time does not increase
        push.send_multipart([header(t_ns=2_000), good])
        deadline = time.monotonic() + 10
        while client.status()["counters"].get("received", 0) < len(bad) + 3:
            assert time.monotonic() < deadline, "the service did not take the messages"
            time.sleep(0.01)
        status = client.status()
        assert client.request({"cmd": "ping"})["ok"]
        _, statuses = until_stopped(client)
    finally:
        client.close()
        ctx.destroy(0)
        running.close()
    c = status["counters"]
    assert c["received"] == len(bad) + 3 == c["frames"] + c["invalid"] and c["frames"] == 2
    reasons = [r for _, r in bad] + ["time_order"]
    for reason in set(reasons):
        assert c[f"invalid.{reason}"] == reasons.count(reason), reason
    answered = [d["reason"] for d in statuses if d.get("kind") == "invalid"]
    assert answered == reasons and all(d["error"] for d in statuses if d.get("kind") == "invalid")


def test_pictures_faster_than_pose_are_dropped_and_counted_while_steps_come_and_control_answers(clip, tmp_path):
    """The clip's pictures three at once, back to back (raw RGB takes well under a millisecond to take in, a pose
    about 15-40 ms): pose takes the first, the second waits at the video edge and the third replaces it, so about one
    in three is dropped (two when the idle worker's feeder thread has not yet taken the first when the second comes,
    on a loaded machine; none if a pose finished between two sends); control requests are answered between groups.
    Measured once under load: 41 dropped of 40 groups."""
    running, client = start_frames(tmp_path, ONE_WORKER)
    try:
        pictures = pictures_of(clip)
        groups = [pictures[i:i + 3] for i in range(0, len(pictures) - 2, 3)]
        for group in groups:
            for rgb, t_ns in group:
                client.send_frame(t_ns, rgb)
            wait_posed(client, group[-1][1])
        status = client.status()
        steps, _ = until_stopped(client)
    finally:
        client.close()
        running.close()
    assert status["counters"]["frames"] == 3 * len(groups)
    assert 0.6 * len(groups) <= status["frames"]["dropped"] <= 2 * len(groups)
    assert status["counters"]["control_requests"] >= len(groups)
    assert len(steps) >= 2


def test_the_frames_endpoint_is_checked_like_the_others(tmp_path):
    with pytest.raises(SecurityError, match="tcp://0.0.0.0:5559"):
        start(tmp_path, serve_table={"frames": "tcp://0.0.0.0:5559"})
    with pytest.raises(ValueError, match="cannot run beside frames"):
        ServeParams(frames="tcp://127.0.0.1:5559", vmc="127.0.0.1:39539")
    with pytest.raises(ValueError, match="must differ"):
        ServeParams(frames="tcp://127.0.0.1:5556")
    assert ServeParams().endpoints()[0] == "tcp://127.0.0.1:5555"
    assert ServeParams(frames="tcp://127.0.0.1:5559").endpoints()[0] == "tcp://127.0.0.1:5559"


def test_the_serve_frames_policy_drops_frames_like_live_and_renders_by_media_time():
    assert SERVE_FRAMES.newest_frames and not SERVE_FRAMES.live and SERVE_FRAMES.video_capacity == 1
    assert LIVE.newest_frames and LIVE.live
    assert not OFFLINE.newest_frames and not OFFLINE.live


def test_the_pose_slots_hold_the_largest_analysed_picture():
    for video in (VideoSourceParams(), VideoSourceParams(max_side=640, scaled_side=320),
                  VideoSourceParams(max_side=1283, scaled_side=1283)):
        for max_side in (100, 640, 641, 1283, 1920, 3000):
            side = FrameIntake.analysis_bound(video, max_side)[0]
            sizes = [(w, h) for w in range(2, max_side + 1, 13) for h in (2, w // 2 + 1, w)] + [(max_side, max_side)]
            assert max(max(analysis_size(w, h, video)) for w, h in sizes) <= side <= max_side


def test_pictures_decode_to_their_size_and_bad_ones_are_refused():
    rgb = np.random.default_rng(0).integers(0, 255, (36, 64, 3), np.uint8)
    data = JpegEncoder(2).encode(rgb)
    assert jpeg_size(data) == (64, 36)
    decoder = PictureDecoder()
    picture = decoder.decode("jpeg", data, 64, 36)
    assert (picture.width, picture.height) == (64, 36)
    assert np.array_equal(decoder.decode("rgb24", rgb.tobytes(), 64, 36).to_ndarray(format="rgb24"), rgb)
    assert jpeg_size(b"\xff\xd8\xff\xda\x00\x02") is None and jpeg_size(b"GIF89a") is None and jpeg_size(b"") is None
    with pytest.raises(PictureError, match="bad_picture"):
        decoder.decode("jpeg", data[:200], 64, 36)
    assert decoder.decode("jpeg", data, 64, 36).width == 64  # the decoder recovers after a broken picture
    with pytest.raises(PictureError, match="bad_payload"):
        decoder.decode("rgb24", rgb.tobytes()[:-3], 64, 36)


@pytest.mark.slow
def test_the_frames_benchmark_runs():
    from footfall.engine.serve.bench_frames import serve_frames

    row = serve_frames(640, 360, 30.0, 6.0)
    for name in ("x1", "x2"):
        assert row[name]["taken"] == row[name]["pictures"] == row[name]["posed"] + row[name]["dropped"]
        assert row[name]["posed"] > 0 and row["invalid"] == 0


def test_serve_takes_frames_from_the_command_line(tmp_path, capsys):
    from footfall.engine.cli import main

    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    assert "--frames" in capsys.readouterr().out
    assert main(["serve", "--frames", "tcp://0.0.0.0:5559"]) == 1  # beyond loopback without CURVE: refused
    err = capsys.readouterr().err.strip()
    assert err.startswith("footfall: tcp://0.0.0.0:5559: binding beyond loopback needs CURVE") and "\n" not in err


SMALL_JPEG = JpegEncoder().encode(np.full((8, 16, 3), 90, np.uint8))
headers = st.fixed_dictionaries({"v": st.sampled_from([1, 1, 1, 2, "1", None])}, optional={
    "type": st.sampled_from(["frame", "skeleton", None, 3]),
    "t_ns": st.integers(-5, 2**64) | st.floats(allow_nan=True) | st.text(max_size=3),
    "time_s": st.floats(allow_nan=True, allow_infinity=True),
    "format": st.sampled_from(["jpeg", "rgb24", "png", "", None]),
    "width": st.sampled_from([0, 2, 8, 16, 64, 100, 129, 10**12, -1, 8.0, True, "8"]),
    "height": st.sampled_from([0, 2, 8, 16, 64, 65, 10**12, -1, 8.0, False]),
    "extra": st.text(max_size=8)}).map(lambda d: json.dumps(d).encode())
payloads = st.binary(max_size=600) | st.sampled_from([SMALL_JPEG, SMALL_JPEG[:40], bytes(8 * 8 * 3), bytes(16 * 8 * 3),
                                                     bytes(100 * 8 * 3), bytes(64 * 64 * 3)])
hostile = st.lists(headers | st.binary(max_size=40), min_size=1, max_size=1).flatmap(
    lambda first: st.lists(payloads, min_size=0, max_size=2).map(lambda rest: first + rest))


def good_picture(t_ns: int, kind: int) -> list[bytes]:
    fmt, (w, h), payload = [("jpeg", (16, 8), SMALL_JPEG), ("rgb24", (8, 8), bytes(8 * 8 * 3)),
                            ("rgb24", (100, 8), bytes(100 * 8 * 3))][kind]  # the last one is scaled to 64 wide
    return [json.dumps({"v": 1, "type": "frame", "t_ns": t_ns, "format": fmt, "width": w, "height": h}).encode(),
            payload]


parts = hostile | st.builds(good_picture, st.integers(0, 10**6), st.integers(0, 2))


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.lists(parts, min_size=1, max_size=12))
def test_any_picture_messages_are_frames_or_reasons_and_all_are_counted(batch):
    intake = FrameIntake(VideoSourceParams(max_side=64, scaled_side=64), 128, 64 * 64 * 3 - 1, 4096)
    for message in batch:
        try:
            frame = intake.take(message, 0.0)
        except ProtocolError as exc:
            assert exc.reason and "\n" not in str(exc)
            continue
        assert isinstance(frame, VideoFrame) and frame.image.dtype == np.uint8 and frame.image.shape[2] == 3
        assert max(frame.image.shape[:2]) <= intake.analysis_shape[0]
    c = intake.counters
    assert c["received"] == len(batch) == c["frames"] + c["invalid"]
    assert c["invalid"] == sum(v for k, v in c.items() if k.startswith("invalid."))
