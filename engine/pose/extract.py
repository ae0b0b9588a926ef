"""Poses for a whole video, cached on disk: what evaluation and tuning iterate over without re-running MediaPipe.

Every person of every frame is kept with its track id, so a cached run gives back exactly the PoseSamples the pool
gave (one person, id 0, with `max_people` 1; the tracker's ids with more).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from footfall.engine.messages import NUM_LANDMARKS, PersonPose, PoseSample
from footfall.engine.pose.mediapipe_pose import PoseParams
from footfall.engine.pose.pool import PosePool
from footfall.engine.cache_dir import cache_root
from footfall.sources.video_file import VideoFileSource, VideoSourceParams

CACHE_VERSION = 3  # 3: offline, a newcomer is named from its first frame; 2: every person with its track id


def default_cache_dir() -> Path:
    return cache_root() / "poses"


def _key(video: Path, pose: PoseParams, source: VideoSourceParams) -> str:
    h = hashlib.sha256()
    st = video.stat()
    h.update(f"{video.resolve()}|{st.st_size}|{st.st_mtime_ns}|{CACHE_VERSION}".encode())
    pose_key = asdict(pose) | {"workers": 0}
    if not pose.several:
        del pose_key["tracking"], pose_key["people_search_ms"]  # one person: no tracker, no search for newcomers
    h.update(repr((pose_key, asdict(source))).encode())
    return h.hexdigest()[:24]


def _save(path: Path, samples: list[PoseSample]) -> None:
    """One row per frame in `meta` (index, time, size, number of persons); the persons of all frames one after
    another in `track_ids`, `landmarks` and `world` (NaN where `has_world` is false)."""
    persons = [p for s in samples for p in s.persons]
    meta = np.array([(s.frame_index, s.t_ns, s.width, s.height, len(s.persons)) for s in samples],
                    np.int64).reshape(len(samples), 5)
    lm = np.array([p.landmarks for p in persons], np.float32).reshape(len(persons), NUM_LANDMARKS, 4)
    world = np.full((len(persons), NUM_LANDMARKS, 3), np.nan, np.float32)
    has_world = np.array([p.world is not None for p in persons], bool)
    for i, p in enumerate(persons):
        if p.world is not None:
            world[i] = p.world
    ids = np.array([p.track_id for p in persons], np.int64)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
    np.savez_compressed(tmp, meta=meta, track_ids=ids, landmarks=lm, world=world, has_world=has_world)
    os.replace(tmp, path)


def _load(path: Path) -> list[PoseSample]:
    with np.load(path) as data:
        meta, ids, lm, world, has_world = (data[k] for k in ("meta", "track_ids", "landmarks", "world", "has_world"))
    out = []
    k = 0
    for fi, t, w, h, n in meta:
        persons = tuple(PersonPose(int(ids[j]), lm[j], world[j] if has_world[j] else None) for j in range(k, k + n))
        k += n
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
