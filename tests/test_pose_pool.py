"""The pose worker pool: frame order kept through several workers, and workers forked from a MediaPipe-preloaded
forkserver. Runs the real MediaPipe pose (the model ships inside the mediapipe wheel) on generated frames."""
import multiprocessing as mp

import numpy as np
import pytest

from footfall.engine.messages import VideoFrame
from footfall.engine.pose.mediapipe_pose import PoseParams
from footfall.engine.pose.pool import PosePool, PoseWorkerError, worker_context


def frames(n: int, h: int = 48, w: int = 64):
    for i in range(n):
        image = np.full((h, w, 3), (i * 7) % 256, np.uint8)
        yield VideoFrame(i, i * 33_333_333, 33_333_333, 640, 480, image)


def test_results_come_back_in_frame_order_with_their_times():
    with PosePool(PoseParams(workers=2, in_flight_per_worker=2), 48, 64) as pool:
        samples = list(pool.map(frames(24)))
    assert [s.frame_index for s in samples] == list(range(24))
    assert [s.t_ns for s in samples] == [i * 33_333_333 for i in range(24)]
    assert all((s.width, s.height) == (640, 480) for s in samples)


def test_a_frame_larger_than_the_slots_is_refused():
    with PosePool(PoseParams(workers=1), 32, 32) as pool:
        with pytest.raises(PoseWorkerError, match="larger than the pool's slots"):
            list(pool.map(frames(1, 48, 64)))


@pytest.mark.skipif("forkserver" not in mp.get_all_start_methods(), reason="no forkserver on this platform")
def test_workers_fork_from_a_server_that_imported_the_estimator_once():
    ctx = worker_context(preload=PoseParams().preload)
    assert ctx.get_start_method() == "forkserver"
    assert PoseParams().preload == ("ai_edge_litert.interpreter", "cv2")
    assert PoseParams(max_people=2).preload == PoseParams().preload
    assert PoseParams(backend="mediapipe").preload == PoseParams(max_people=2, backend="mediapipe").preload \
        == ("mediapipe",)
    assert worker_context("spawn").get_start_method() == "spawn"
