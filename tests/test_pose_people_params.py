"""The max_people knob: validated, read from TOML with its [pose.tracking] table, set by `footfall render --people`."""
from __future__ import annotations

import pytest

from footfall.engine.cli import build_parser
from footfall.engine.commands.common import load_settings
from footfall.engine.config import ConfigError, load, params, section
from footfall.engine.pose.mediapipe_pose import PoseParams
from footfall.engine.pose.person_tracker import PersonTrackerParams


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_max_people_must_be_a_whole_number_of_at_least_one(bad):
    with pytest.raises(ValueError, match="max_people"):
        PoseParams(max_people=bad)


def test_one_person_is_the_default_and_runs_no_tracker():
    assert PoseParams().max_people == 1 and not PoseParams().several
    assert PoseParams(max_people=4).several


def test_tasks_thresholds_match_the_legacy_ones():
    tasks = PoseParams(max_people=3, min_detection_confidence=0.6, min_tracking_confidence=0.4).tasks_params("b.task")
    assert tasks.num_poses == 3 and tasks.bundle_path == "b.task"
    assert tasks.min_pose_detection_confidence == 0.6
    assert tasks.min_pose_presence_confidence == tasks.min_tracking_confidence == 0.4


def test_default_preset_documents_the_code_defaults():
    pose = section(load("render"), "pose", PoseParams)
    assert pose.max_people == 1
    assert pose.tracking == PersonTrackerParams()


def test_tracking_is_a_sub_table_of_pose():
    pose = params(PoseParams, {"max_people": 3, "tracking": {"birth_frames": 5, "death_ms": 800}}, "f [pose]")
    assert pose.tracking == PersonTrackerParams(birth_frames=5, death_ms=800.0)
    with pytest.raises(ConfigError, match=r"f \[pose\]\.tracking: unknown key\(s\) birth"):
        params(PoseParams, {"tracking": {"birth": 5}}, "f [pose]")
    with pytest.raises(ConfigError, match=r"f \[pose\]\.tracking: expected a table"):
        params(PoseParams, {"tracking": 3}, "f [pose]")
    with pytest.raises(ConfigError, match=r"f \[pose\]\.tracking: birth_frames must be at least 1"):
        params(PoseParams, {"tracking": {"birth_frames": 0}}, "f [pose]")
    with pytest.raises(ConfigError, match="max_people"):
        params(PoseParams, {"max_people": 0}, "f [pose]")


def test_config_file_sets_people_and_tracking(tmp_path):
    user = tmp_path / "people.toml"
    user.write_text("[pose]\nmax_people = 3\n\n[pose.tracking]\ndeath_ms = 900.0\n")
    settings = load_settings(user)
    assert settings.pose.max_people == 3
    assert settings.pose.tracking == PersonTrackerParams(death_ms=900.0)


def test_people_flag_reaches_the_pose_params(tmp_path):
    user = tmp_path / "people.toml"
    user.write_text("[pose]\nmax_people = 3\n")
    parser = build_parser()
    args = parser.parse_args(["render", "in.mp4", "-o", "out.mp4", "--people", "4"])
    assert load_settings(None).with_people(args.people).pose.max_people == 4
    unset = parser.parse_args(["render", "in.mp4", "-o", "out.mp4"])
    assert load_settings(None).with_people(unset.people).pose.max_people == 1
    assert load_settings(user).with_people(unset.people).pose.max_people == 3  # no flag: the config decides
    assert load_settings(user).with_people(args.people).pose.max_people == 4  # the flag wins


@pytest.mark.parametrize("bad", ["0", "-1", "two"])
def test_bad_people_count_is_a_usage_error(bad, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["render", "in.mp4", "-o", "out.mp4", "--people", bad])
    assert info.value.code == 2
    assert "--people" in capsys.readouterr().err
