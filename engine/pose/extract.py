"""Poses for a whole video, cached on disk: what evaluation and tuning iterate over without re-running MediaPipe."""
from __future__ import annotations

import hashlib
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from footfall.engine.messages import PersonPose, PoseSample
from footfall.engine.pose.mediapipe_pose import PoseParams
from footfall.engine.pose.pool import PosePool
from footfall.sources.video_file import VideoFileSource, VideoSourceParams

CACHE_VERSION = 1


def default_cache_dir() -> Path:
    root = os.environ.get("FOOTFALL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "footfall")
    return Path(root) / "poses"


def _key(video: Path, pose: PoseParams, source: VideoSourceParams) -> str:
    h = hashlib.sha256()
    st = video.stat()
    h.update(f"{video.resolve()}|{st.st_size}|{st.st_mtime_ns}|{CACHE_VERSION}".encode())
    h.update(repr((asdict(pose) | {"workers": 0}, asdict(source))).encode())
    return h.hexdigest()[:24]


def _save(path: Path, samples: list[PoseSample]) -> None:
    n = len(samples)
    lm = np.full((n, 33, 4), np.nan, np.float32)
    world = np.full((n, 33, 3), np.nan, np.float32)
    meta = np.array([(s.frame_index, s.t_ns, s.width, s.height, len(s.persons)) for s in samples], np.int64)
    for i, s in enumerate(samples):
        if s.persons:
            lm[i] = s.persons[0].landmarks
            if s.persons[0].world is not None:
                world[i] = s.persons[0].world
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, meta=meta, landmarks=lm, world=world)
    os.replace(tmp, path)


def _load(path: Path) -> list[PoseSample]:
    data = np.load(path)
    out = []
    for (fi, t, w, h, n), lm, wd in zip(data["meta"], data["landmarks"], data["world"]):
        persons = (PersonPose(0, lm, None if np.isnan(wd).all() else wd),) if n else ()
        out.append(PoseSample(int(fi), int(t), int(w), int(h), persons))
    return out


def extract_poses(video_path: Path, params: PoseParams | None = None, cache_dir: Path | None = None,
                  source_params: VideoSourceParams | None = None) -> list[PoseSample]:
    """Every frame's PoseSample, computed once per (video, parameters) and then read from the cache."""
    params = params or PoseParams()
    source_params = source_params or VideoSourceParams()
    video_path = Path(video_path)
    source = VideoFileSource(video_path, source_params)
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"{video_path.stem}-{_key(video_path, params, source_params)}.npz"
    if path.exists():
        return _load(path)
    frames = source.frames()
    first = next(frames)
    h, w = first.image.shape[:2]

    def all_frames():
        yield first
        yield from frames

    with PosePool(params, h, w) as pool:
        samples = list(pool.map(all_frames()))
    _save(path, samples)
    return samples
