"""`footfall eval` end to end on data the test makes: exported events against labels, and a synthetic mocap take."""
import argparse
import json
from fractions import Fraction

import av
import numpy as np
import pytest

from footfall.engine.evaluation import command
from footfall.engine.evaluation.bvh import read_bvh, world_positions
from footfall.engine.evaluation.mocap_contacts import contacts_from_positions
from footfall.engine.evaluation.projection import joint_roles


def run_eval(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="footfall")
    command.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", *argv])
    return args.run(args)


def write_video(path, frames: int = 60, fps: int = 30) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=Fraction(fps, 1))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (i * 4) % 256, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.fixture
def labelled_clip(tmp_path):
    videos, labels, events = tmp_path / "videos", tmp_path / "labels", tmp_path / "events"
    for d in (videos, labels, events):
        d.mkdir()
    write_video(videos / "walk.mp4")
    (labels / "walk.steps.csv").write_text(
        "frame,time_s,foot,confidence,note\n10,0.3333,A,high,\n25,0.8333,B,high,\n40,1.3333,A,high,\n")
    # frame 11 (+1 frame), frame 25 exactly, one false step at frame 55; the step at frame 40 is missed
    rows = [{"t_ns": f * 1_000_000_000 // 30, "foot": foot, "delay_ms": 100.0}
            for f, foot in ((11, "left"), (25, "right"), (55, "left"))]
    (events / "walk.events.json").write_text(json.dumps({"version": 1, "events": rows, "summary": None}))
    return tmp_path


def test_events_against_labels_table_json_and_floor(labelled_clip, tmp_path, capsys):
    out = tmp_path / "out.json"
    floor = tmp_path / "floor.toml"
    floor.write_text("[video.min]\nf1 = 0.6\n[video.max]\nmedian_abs_error_ms = 10.0\n")
    argv = [str(labelled_clip / "videos" / "walk.mp4"), "--labels", str(labelled_clip / "labels"),
            "--events", str(labelled_clip / "events"), "--json", str(out)]
    assert run_eval(argv) == 0
    doc = json.loads(out.read_text())
    case = doc["cases"]["walk"]
    assert (case["true_positives"], case["false_positives"], case["false_negatives"]) == (2, 1, 1)
    assert doc["f1"] == pytest.approx(2 / 3) and doc["precision"] == pytest.approx(2 / 3)
    assert doc["median_abs_error_ms"] == pytest.approx(1000 / 30 / 2, abs=0.01)  # errors 33.3 and 0 ms
    assert doc["median_delay_ms"] == pytest.approx(100 + 1000 / 30 / 2, abs=0.01)
    assert doc["foot_consistency"] == pytest.approx(1.0)
    for key in ("recall", "p95_abs_error_ms", "p95_delay_ms"):
        assert key in doc
    assert "walk" in capsys.readouterr().out
    # the floor: f1 0.667 passes 0.6, median |error| 16.7 ms exceeds 10 ms -> exit 1 and one line naming it
    assert run_eval(argv + ["--floor", str(floor)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "median_abs_error_ms" in err[0]
    # a wider tolerance in ms changes the matching: 2 frames' worth still pairs the same steps
    assert run_eval(argv + ["--tolerance-ms", "70"]) == 0


def test_usage_and_missing_labels(tmp_path, capsys):
    assert run_eval([]) == 2
    write_video(tmp_path / "x.mp4", frames=5)
    assert run_eval([str(tmp_path / "x.mp4"), "--labels", str(tmp_path), "--events", str(tmp_path)]) == 1
    assert "x.steps.csv" in capsys.readouterr().err


def synthetic_take(path, seconds: float = 3.0, fps: int = 30) -> None:
    """A BVH walker whose every joint carries position channels (so world positions are written directly):
    1.2 m/s along +Z, left heel strikes at 0.5, 1.5, 2.5 s and right at 1.0, 2.0 s."""
    t = np.arange(int(seconds * fps)) / fps
    z_hip = 1.2 * t

    def foot(touchdowns, lateral):
        z = np.full_like(t, touchdowns[0] * 1.2 - 0.6)
        lift = np.zeros_like(t)
        for touch in touchdowns:
            start = touch - 0.4
            phase = np.clip((t - start) / 0.4, 0, 1)
            target = touch * 1.2 + 0.3
            z = np.where(t >= start, (target - 1.2) + 1.2 * (1 - np.cos(np.pi * phase)) / 2, z)
            lift = np.where((t >= start) & (t < touch), 0.12 * np.sin(np.pi * phase), lift)
        ankle = np.stack([np.full_like(t, lateral), 0.08 + lift, z], axis=1)
        return ankle, ankle + np.array([0.0, -0.05, 0.13])

    hips = np.stack([np.zeros_like(t), np.full_like(t, 0.95), z_hip], axis=1)
    world = {"Hips": hips}
    for side, lateral, touches in (("L", 0.1, [0.5, 1.5, 2.5]), ("R", -0.1, [1.0, 2.0])):
        ankle, toe = foot(touches, lateral)
        world[f"UpperLeg_{side}"] = hips + [lateral, -0.05, 0]
        world[f"Foot_{side}"], world[f"Toes_{side}"] = ankle, toe
        world[f"LowerLeg_{side}"] = 0.5 * (world[f"UpperLeg_{side}"] + ankle) + [0, 0, 0.05]
    world["Spine"] = hips + [0, 0.2, 0]
    world["Neck"] = hips + [0, 0.55, 0]
    world["Head"] = hips + [0, 0.65, 0]
    for side, lateral in (("L", 0.2), ("R", -0.2)):
        world[f"UpperArm_{side}"] = world["Neck"] + [lateral, -0.05, 0]
        world[f"LowerArm_{side}"] = world[f"UpperArm_{side}"] + [0, -0.3, 0]
        world[f"Hand_{side}"] = world[f"LowerArm_{side}"] + [0, -0.25, 0]
    tree = [("Hips", None), ("Spine", "Hips"), ("Neck", "Spine"), ("Head", "Neck")]
    for s in "LR":
        tree += [(f"UpperArm_{s}", "Neck"), (f"LowerArm_{s}", f"UpperArm_{s}"), (f"Hand_{s}", f"LowerArm_{s}"),
                 (f"UpperLeg_{s}", "Hips"), (f"LowerLeg_{s}", f"UpperLeg_{s}"), (f"Foot_{s}", f"LowerLeg_{s}"),
                 (f"Toes_{s}", f"Foot_{s}")]
    children = {name: [c for c, p in tree if p == name] for name, _ in tree}
    channels = "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation"
    lines, order = ["HIERARCHY"], []

    def emit(name, depth):
        order.append(name)
        pad = "  " * depth
        lines.extend([f"{pad}{'ROOT' if depth == 0 else 'JOINT'} {name}", f"{pad}{{", f"{pad}  OFFSET 0 0 0",
                      f"{pad}  {channels}"])
        for child in children[name]:
            emit(child, depth + 1)
        lines.append(f"{pad}}}")

    emit("Hips", 0)
    parent = dict(tree)
    lines += ["MOTION", f"Frames: {len(t)}", f"Frame Time: {1 / fps:.7f}"]
    for i in range(len(t)):
        row = []
        for name in order:
            local = world[name][i] - (world[parent[name]][i] if parent[name] else 0)
            row += list(local * 100) + [0, 0, 0]
        lines.append(" ".join(f"{v:.5f}" for v in row))
    path.write_text("\n".join(lines) + "\n")


def test_synthetic_take_contacts(tmp_path):
    synthetic_take(tmp_path / "walk.bvh")
    motion = read_bvh(tmp_path / "walk.bvh")
    contacts = contacts_from_positions(world_positions(motion), joint_roles(motion), motion.fps)
    assert [c.foot for c in contacts] == ["left", "right", "left", "right", "left"]
    np.testing.assert_allclose([c.t_ns / 1e9 for c in contacts], [0.5, 1.0, 1.5, 2.0, 2.5], atol=0.04)


def test_mocap_suite_runs_the_detector(tmp_path):
    pytest.importorskip("footfall.engine.steps.detector")
    takes = tmp_path / "mocap"
    takes.mkdir()
    synthetic_take(takes / "walk.bvh")
    out = tmp_path / "mocap.json"
    code = run_eval(["--mocap", str(takes), "--views", "side,front", "--fps", "30", "--noise", "realistic",
                     "--json", str(out), "--plots", str(tmp_path / "plots")])
    assert code == 0
    doc = json.loads(out.read_text())
    assert sorted(doc["cases"]) == ["walk/front/30fps", "walk/side/30fps"]
    assert doc["n_truth"] == 10
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == ["walk__front__30fps.png", "walk__side__30fps.png"]


def test_scaled_copies_fit_the_box_turned_to_the_picture():
    from footfall.engine.evaluation.scaled import fitted_size

    assert fitted_size(1280, 720, (480, 270)) == (480, 270)
    assert fitted_size(720, 1280, (480, 270)) == (270, 480)  # a portrait clip gets the box turned
    assert fitted_size(1920, 1080, (640, 360)) == (640, 360)
    assert fitted_size(320, 240, (640, 360)) == (320, 240)  # never enlarged
    assert fitted_size(1000, 1000, (480, 270)) == (270, 270)


def test_ci_scores_every_suite_of_an_evaluation_folder(labelled_clip, tmp_path, monkeypatch):
    monkeypatch.setenv("FOOTFALL_CACHE", str(tmp_path / "cache"))
    root = labelled_clip
    (root / "wild" / "labels").mkdir(parents=True)
    (root / "wild" / "labels" / "walk.steps.csv").write_text((root / "labels" / "walk.steps.csv").read_text())
    (root / "mocap").mkdir()
    synthetic_take(root / "mocap" / "walk.bvh")
    out = tmp_path / "ci.json"
    floor = tmp_path / "floor.toml"
    floor.write_text("[mocap-back.min]\nf1 = 0.5\n[wild.max]\nf1 = 1.0\n")
    assert run_eval(["--ci", str(root), "--fps", "30", "--json", str(out), "--floor", str(floor)]) == 0
    doc = json.loads(out.read_text())
    assert sorted(doc["suites"]) == ["mocap", "mocap-back", "mocap-front", "mocap-standing", "video",
                                     "video-480x270", "video-640x360", "wild"]
    assert doc["suites"]["mocap-standing"]["n_truth"] == 0 and doc["suites"]["mocap-standing"]["idle_s"] > 0
    assert doc["suites"]["mocap-back"]["n_truth"] == 5 and doc["suites"]["mocap"]["n_truth"] == 25  # 5 views
    assert doc["n_truth"] == doc["suites"]["video"]["n_truth"] + doc["suites"]["mocap"]["n_truth"]
    copies = sorted((tmp_path / "cache" / "eval-scaled").rglob("walk.mp4"))
    assert len(copies) == 2
    with av.open(str(copies[0])) as c:  # 480x270 sorts first: the 64x48 clip is never enlarged
        assert (c.streams.video[0].width, c.streams.video[0].frames or 60) == (64, 60)


def test_people_who_do_not_walk_stand_on_planted_feet_and_hop_with_both(tmp_path):
    from footfall.engine.evaluation.projection import landmarks_3d
    from footfall.engine.evaluation.standing import KINDS, standing_points

    synthetic_take(tmp_path / "walk.bvh")
    motion = read_bvh(tmp_path / "walk.bvh")
    walk = landmarks_3d(world_positions(motion), joint_roles(motion))
    for kind in KINDS:
        points = standing_points(walk, motion.fps, kind, seed=3)
        assert points.shape == walk.shape and np.all(np.isfinite(points))
        heels = points[:, [29, 30]]
        ground = heels[:, :, [0, 2]]
        travel = np.linalg.norm(ground - ground[:1], axis=-1)
        assert travel.max() < 1e-9  # the feet never move along the ground
        height = heels[:, :, 1] - heels[:, :, 1].min()
        if kind == "jump":
            assert height.max() > 0.1 and np.allclose(height[:, 0], height[:, 1])  # both feet leave together
        else:
            assert height.max() < 1e-9
        hips = 0.5 * (points[:, 23] + points[:, 24])
        assert np.linalg.norm(hips[-1, [0, 2]] - hips[0, [0, 2]]) < 0.15  # it stays where it began
        shoulders, walk_shoulders = 0.5 * (points[:, 11] + points[:, 12]), 0.5 * (walk[:, 11] + walk[:, 12])
        np.testing.assert_allclose(points[:, 15] - shoulders, walk[:, 15] - walk_shoulders, atol=1e-9)  # gestures


def test_standing_cases_have_no_steps_and_count_false_ones_a_minute(tmp_path):
    takes = tmp_path / "mocap"
    takes.mkdir()
    synthetic_take(takes / "walk.bvh")
    out = tmp_path / "standing.json"
    assert run_eval(["--mocap", str(takes), "--standing", "--views", "side", "--fps", "30", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert sorted(doc["cases"]) == ["walk/jump/side/30fps", "walk/shift/side/30fps", "walk/stand/side/30fps"]
    assert doc["n_truth"] == 0 and doc["idle_s"] == pytest.approx(3 * 3.0, abs=0.2)
    assert doc["false_steps_per_min"] == pytest.approx(doc["n_detected"] / (doc["idle_s"] / 60))

