"""The PoseLandmarker bundle built from the installed wheel, and TasksPose running on it offline."""
from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from footfall.engine.config import ConfigError, params
from footfall.engine.pose.task_bundle import (
    DETECTOR_NAME, LANDMARKS_NAME, PoseModelMissing, models_cache_dir, pose_task_bundle, wheel_model_paths,
)
from footfall.engine.pose.tasks_landmarker import UNTRACKED, TasksPose, TasksPoseParams, video_timestamp_ms


def _normalization(model: bytes) -> tuple[list[float], list[float]]:
    from mediapipe.tasks.python.metadata import metadata

    meta = json.loads(metadata.MetadataDisplayer.with_model_buffer(model).get_metadata_json())
    unit = meta["subgraph_metadata"][0]["input_tensor_metadata"][0]["process_units"][0]
    assert unit["options_type"] == "NormalizationOptions"
    return unit["options"]["mean"], unit["options"]["std"]


def test_bundle_holds_both_models_with_their_normalisation(tmp_path):
    path = pose_task_bundle(tmp_path)
    assert path.parent == tmp_path and path.suffix == ".task"
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == sorted([DETECTOR_NAME, LANDMARKS_NAME])
        assert _normalization(z.read(DETECTOR_NAME)) == ([127.5], [127.5])
        assert _normalization(z.read(LANDMARKS_NAME)) == ([0.0], [255.0])
    assert not list(tmp_path.glob("*.tmp"))


def test_bundle_is_built_once(tmp_path):
    first = pose_task_bundle(tmp_path)
    stamp = first.stat().st_mtime_ns
    assert pose_task_bundle(tmp_path) == first
    assert first.stat().st_mtime_ns == stamp


def test_bundle_cache_follows_footfall_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FOOTFALL_CACHE", str(tmp_path))
    assert models_cache_dir() == tmp_path / "models"


def test_missing_wheel_model_is_one_line_naming_the_file(tmp_path):
    with pytest.raises(PoseModelMissing) as info:
        wheel_model_paths(tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "modules/pose_detection/pose_detection.tflite") in message


def test_video_timestamps_strictly_increase():
    ms = None
    out = []
    for t_ns in (0, 20_000_000, 20_400_000, 10_000_000, 60_000_000):
        ms = video_timestamp_ms(t_ns, ms)
        out.append(ms)
    assert out == [0, 20, 21, 22, 60]


def test_params_validate():
    assert params(TasksPoseParams, {"num_poses": 3}, "t").num_poses == 3
    with pytest.raises(ConfigError):
        params(TasksPoseParams, {"num_poses": 0}, "t")
    with pytest.raises(ConfigError):
        params(TasksPoseParams, {"min_tracking_confidence": 1.5}, "t")


def test_tasks_pose_runs_offline_and_finds_nobody_in_plain_frames(tmp_path):
    bundle = pose_task_bundle(tmp_path)
    pose = TasksPose(TasksPoseParams(num_poses=3, bundle_path=str(bundle)))
    try:
        rng = np.random.default_rng(0)
        frames = [np.zeros((240, 320, 3), np.uint8), np.full((240, 320, 3), 200, np.uint8),
                  rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)]
        for i, image in enumerate(frames):
            # the same media time twice: the landmarker must still get increasing timestamps
            sample = pose.process(image, i, 0, 320, 240)
            assert sample.frame_index == i and (sample.width, sample.height) == (320, 240)
            assert sample.persons == ()
    finally:
        pose.close()
    assert UNTRACKED == -1
