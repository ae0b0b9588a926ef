"""The `.task` bundle MediaPipe's Tasks PoseLandmarker needs, built offline from the pose models in the wheel.

mediapipe 0.10.21 ships `pose_detection.tflite` and `pose_landmark_full.tflite` for the legacy solution, without
the metadata the Tasks graph reads its input normalisation from. Writing NormalizationOptions into them with
MediaPipe's own metadata writers (detector: mean 127.5 / std 127.5, i.e. [-1, 1]; landmarks: mean 0 / std 255,
i.e. [0, 1]) and zipping them under the names the Tasks graph looks up gives a working bundle with no download.
The bundle is built once into the footfall cache, named after a digest of its inputs, and written atomically.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

from footfall.engine.cache_dir import cache_root

BUNDLE_VERSION = 1

# Names the Tasks graph opens inside the bundle (pose_landmarker_graph.cc).
DETECTOR_NAME = "pose_detector.tflite"
LANDMARKS_NAME = "pose_landmarks_detector.tflite"

# Where the wheel keeps the legacy models, relative to the mediapipe package.
WHEEL_DETECTOR = Path("modules/pose_detection/pose_detection.tflite")
WHEEL_LANDMARKS = Path("modules/pose_landmark/pose_landmark_full.tflite")

DETECTOR_NORM = (127.5, 127.5)
LANDMARKS_NORM = (0.0, 255.0)


class PoseModelMissing(FileNotFoundError):
    """The installed mediapipe wheel lacks a pose model file (a wheel other than 0.10.21, or a damaged install)."""


def wheel_model_paths(package_root: Path | None = None) -> tuple[Path, Path]:
    """The detector and landmark models inside the installed mediapipe package; one-line error naming a missing one."""
    if package_root is None:
        # Found, not imported: importing mediapipe takes over a second the render's parent process need not spend.
        spec = importlib.util.find_spec("mediapipe")
        if spec is None or not spec.submodule_search_locations:
            raise PoseModelMissing("mediapipe is not installed (footfall needs the mediapipe 0.10.21 wheel)")
        package_root = Path(spec.submodule_search_locations[0])
    root = Path(package_root)
    paths = (root / WHEEL_DETECTOR, root / WHEEL_LANDMARKS)
    for path in paths:
        if not path.is_file():
            raise PoseModelMissing(f"MediaPipe pose model not found: {path} (footfall needs the mediapipe 0.10.21 "
                                   "wheel, which carries it)")
    return paths


def models_cache_dir() -> Path:
    """Next to the pose cache: $FOOTFALL_CACHE/models, else ~/.cache/footfall/models."""
    return cache_root() / "models"


def with_image_normalization(model: bytes, name: str, mean: float, std: float) -> bytes:
    """`model` with TFLite metadata saying how its image input is normalised, every output declared as a feature."""
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils

    writer = metadata_writer.MetadataWriter.create(bytearray(model))
    writer.add_general_info(name, "footfall: MediaPipe pose model with Tasks normalisation metadata")
    writer.add_image_input(norm_mean=[mean], norm_std=[std])
    for _ in writer_utils.get_output_tensor_names(model):
        writer.add_feature_output()
    content, _json = writer.populate()
    return bytes(content)


def build_pose_task_bundle(out_path: Path, detector: Path, landmarks: Path) -> None:
    """Write the bundle for the two model files to `out_path` (atomically: a temporary file, then a rename)."""
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

    models = {
        DETECTOR_NAME: with_image_normalization(detector.read_bytes(), "pose_detector", *DETECTOR_NORM),
        LANDMARKS_NAME: with_image_normalization(landmarks.read_bytes(), "pose_landmarks_detector", *LANDMARKS_NORM),
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=out_path.name + ".", suffix=".tmp", dir=out_path.parent)
    os.close(fd)
    try:
        model_asset_bundle_utils.create_model_asset_bundle(models, tmp)
        os.replace(tmp, out_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _digest(*paths: Path) -> str:
    h = hashlib.sha256(f"{BUNDLE_VERSION}|{DETECTOR_NORM}|{LANDMARKS_NORM}".encode())
    for path in paths:
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def pose_task_bundle(cache_dir: Path | None = None) -> Path:
    """Path of the PoseLandmarker `.task` bundle for the installed wheel, building it on first use."""
    detector, landmarks = wheel_model_paths()
    cache_dir = Path(cache_dir) if cache_dir is not None else models_cache_dir()
    path = cache_dir / f"pose_landmarker_full-{_digest(detector, landmarks)}.task"
    if not path.is_file():
        build_pose_task_bundle(path, detector, landmarks)
    return path
