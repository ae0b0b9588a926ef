"""The per-frame cut detector: the numba kernel against its NumPy reference, one cut where two generated shots meet,
none in a moving gradient."""
import numpy as np

from footfall.engine.scene.cuts import (COLOUR_BINS, TEXTURE_BINS, CutDetector, CutParams, grid_histograms,
                                        grid_histograms_reference, grid_step)
from footfall.sources.video_file import VideoFileSource, VideoSourceParams
from media import make_video
from scene_media import two_scene_video


def test_the_kernel_matches_the_numpy_reference_on_strided_views():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (90, 160, 3), dtype=np.uint8)
    for view in (image, image[::-1], np.rot90(image), image[:, ::-1]):
        step = grid_step(view.shape[0], view.shape[1], 48)
        colour, texture = np.zeros(COLOUR_BINS), np.zeros(TEXTURE_BINS)
        grid_histograms(view, step, colour, texture)
        ref_c, ref_t = grid_histograms_reference(view, step)
        np.testing.assert_allclose(colour, ref_c, atol=1e-12)
        np.testing.assert_allclose(texture, ref_t, atol=1e-12)
        assert abs(colour.sum() - 1) < 1e-9 and abs(texture.sum() - 1) < 1e-9


def cuts_of(path, params=CutParams()):
    detector = CutDetector(params)
    return [f.t_ns for f in VideoFileSource(path, VideoSourceParams()).frames() if detector.push(f.t_ns, f.image)]


def test_two_shots_give_one_cut_where_they_meet(tmp_path):
    assert cuts_of(two_scene_video(tmp_path / "two.mp4", seconds_each=1.0)) == [1_000_000_000]


def test_a_moving_picture_without_a_cut_gives_none(tmp_path):
    assert cuts_of(make_video(tmp_path / "gradient.mp4", seconds=2.0)) == []


def test_cuts_closer_than_the_minimum_interval_are_one():
    detector = CutDetector(CutParams(min_interval_ms=500.0))
    black, white = np.zeros((36, 64, 3), np.uint8), np.full((36, 64, 3), 255, np.uint8)
    frames = [black, white, black, white] + [white] * 20 + [black]
    found = [k for k, im in enumerate(frames) if detector.push(k * 33_333_333, im)]
    assert found == [1, 24]
