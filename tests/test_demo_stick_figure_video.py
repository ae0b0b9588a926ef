"""The stick-figure video: drawing and colour kernels against NumPy, and a video that decodes exactly."""
from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from footfall.engine.messages import PoseSample
from footfall.sinks.stick_figure_video import (
    IncrementalYuv,
    StickFigureCanvas,
    StickFigureParams,
    StickFigureVideo,
    draw_primitives,
    draw_primitives_reference,
    rgb_to_yuv420,
    rgb_to_yuv420_reference,
)
from footfall.sources.procedural_walkers import ProceduralWalkers, WalkerSceneParams

SMALL = dict(width=320, height=240)


@pytest.fixture(scope="module")
def small_scene() -> ProceduralWalkers:
    return ProceduralWalkers(WalkerSceneParams(**SMALL, duration_s=5.0))


def _random_primitives(rng: np.random.Generator, n: int, width: int, height: int):
    rows = np.column_stack([
        rng.uniform(-20, width + 20, n), rng.uniform(-20, height + 20, n),
        rng.uniform(-20, width + 20, n), rng.uniform(-20, height + 20, n),
        rng.uniform(0.3, 6.0, n), np.where(rng.random(n) < 0.3, rng.uniform(2, 15, n), 0.0),
        rng.uniform(0.2, 1.0, n),
    ])
    rows[:5, 2:4] = rows[:5, 0:2]  # discs (zero-length capsules)
    return rows, rng.uniform(0, 255, (n, 3))


def test_draw_kernel_matches_numpy_reference():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (90, 130, 3), dtype=np.uint8)
    primitives, colours = _random_primitives(rng, 40, 130, 90)
    fast, slow = base.copy(), base.copy()
    draw_primitives(fast, primitives, colours)
    draw_primitives_reference(slow, primitives, colours)
    diff = np.abs(fast.astype(int) - slow.astype(int))
    assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3
    assert np.mean(fast != base) > 0.05  # it drew something


def test_draw_wrapper_validates():
    image = np.zeros((10, 10, 3), np.uint8)
    good = np.zeros((1, 7)), np.zeros((1, 3))
    with pytest.raises(ValueError):
        draw_primitives(image.astype(np.float32), *good)
    with pytest.raises(ValueError):
        draw_primitives(image, np.zeros((1, 6)), good[1])
    with pytest.raises(ValueError):
        draw_primitives(image, np.full((1, 7), np.nan), good[1])


def test_capsule_coverage_is_antialiased_and_sized():
    image = np.zeros((40, 60, 3), np.uint8)
    draw_primitives(image, np.array([[10.0, 20.0, 50.0, 20.0, 3.0, 0.0, 1.0]]), np.array([[255.0, 255.0, 255.0]]))
    column = image[:, 30, 0]
    assert column[20] == 255 and column[10] == 0 and column[30] == 0
    # A 6-pixel-wide line covers about 6 pixels of a column.
    assert abs(column.sum() / 255 - 6.0) < 0.6


def test_yuv_kernel_matches_numpy_reference():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    yuv = np.empty((72, 64), np.uint8)
    rgb_to_yuv420(rgb, yuv)
    assert np.abs(yuv.astype(int) - rgb_to_yuv420_reference(rgb).astype(int)).max() <= 1
    # Limited-range BT.709 extremes.
    extremes = np.zeros((2, 4, 3), np.uint8)
    extremes[:, 2:] = 255
    out = np.empty((3, 4), np.uint8)
    rgb_to_yuv420(extremes, out)
    assert out[0, 0] == 16 and out[0, 3] == 235 and out[2, 0] == 128 and out[2, 2] == 128


def test_incremental_yuv_equals_full_conversion(small_scene):
    params = StickFigureParams(**SMALL)
    canvas = StickFigureCanvas(params)
    incremental = IncrementalYuv(params.width, params.height)
    contacts = small_scene.contacts()
    for sample in list(small_scene.samples())[::7]:
        surface = "wood" if sample.t_ns < 2.5e9 else "gravel"
        flashes = [(c.foot, c.x, c.y, 0.5) for c in contacts if 0 <= sample.t_ns - c.t_ns < 300_000_000]
        image, boxes = canvas.render(sample, surface, flashes)
        yuv = incremental.update(image, boxes, canvas.background(surface), surface)
        assert np.abs(yuv.astype(int) - rgb_to_yuv420_reference(image).astype(int)).max() <= 1


def test_canvas_draws_people_where_they_are(small_scene):
    params = StickFigureParams(**SMALL)
    canvas = StickFigureCanvas(params)
    sample = next(s for s in small_scene.samples() if len(s.persons) == 2)
    empty = PoseSample(sample.frame_index, sample.t_ns, params.width, params.height)
    bare = StickFigureCanvas(StickFigureParams(**SMALL, caption=False))
    assert np.array_equal(bare.draw(empty, "wood", ()), bare.background("wood"))
    image = canvas.draw(sample, "wood")
    background = canvas.background("wood")
    for person in sample.persons:
        lm = person.landmarks
        for a, b in ((23, 25), (25, 27), (11, 23)):  # thigh, shank, flank
            mid = 0.5 * (lm[a, :2] + lm[b, :2]) * (params.width, params.height)
            c, r = int(mid[0]), int(mid[1])
            if 0 <= r < params.height and 0 <= c < params.width:
                assert np.abs(image[r, c].astype(int) - background[r, c].astype(int)).sum() > 30
    changed = np.any(image != background, axis=2)
    assert 0.005 < changed.mean() < 0.3


def test_distinct_colours_per_track_and_side():
    params = StickFigureParams(**SMALL, caption=False)
    canvas = StickFigureCanvas(params)
    scene = ProceduralWalkers(WalkerSceneParams(**SMALL, duration_s=6.0))
    sample = next(s for s in scene.samples() if len(s.persons) == 2)
    colours = []
    for person in sample.persons:
        lone = PoseSample(0, 0, params.width, params.height, (person,))
        image = canvas.draw(lone).astype(int)
        changed = np.any(image != canvas.background(None), axis=2)
        colours.append(image[changed].mean(axis=0))
    assert np.abs(colours[0] - colours[1]).sum() > 40


def test_flash_ring_and_caption_are_drawn():
    params = StickFigureParams(**SMALL)
    canvas = StickFigureCanvas(params)
    empty = PoseSample(0, 0, params.width, params.height)
    image = canvas.draw(empty, "gravel", [("left", 0.5, 0.8)])
    background = canvas.background("gravel")
    ring_r = params.flash_radius_px * 0.6
    centre = (int(0.8 * params.height), int(0.5 * params.width))
    assert np.array_equal(image[centre], background[centre])  # a ring, not a disc
    on_ring = (centre[0], int(centre[1] + ring_r))
    assert np.abs(image[on_ring].astype(int) - background[on_ring].astype(int)).sum() > 60
    assert np.any(image[16:40, 16:100] != background[16:40, 16:100])  # the caption
    assert np.array_equal(canvas.draw(empty, None), canvas.background(None))


def _decode(path):
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        return stream, frames, Fraction(stream.duration) * stream.time_base


def test_video_decodes_with_exact_count_size_and_duration(tmp_path, small_scene):
    path = tmp_path / "walk.mp4"
    params = StickFigureParams(**SMALL)
    samples = list(small_scene.samples())[:45]
    drawn = []
    with StickFigureVideo(path, params) as video:
        for sample in samples:
            video.write(sample, "wood")
            drawn.append(video.canvas.draw(sample, "wood"))
    assert video.frames_written == 45
    stream, frames, duration = _decode(path)
    assert len(frames) == 45 and frames[0].shape == (240, 320, 3)
    assert duration == Fraction(45, 30)
    assert stream.average_rate == 30
    # Colours survive the trip through YUV and the encoder.
    errors = [np.abs(f.astype(int) - d.astype(int)).mean() for f, d in zip(frames, drawn)]
    assert max(errors) < 6.0
    # Where a person stands, the decoded picture differs from the bare background.
    sample = next(i for i, s in enumerate(samples) if s.persons)
    person = samples[sample].persons[0]
    background = StickFigureCanvas(params).background("wood").astype(int)
    hip = person.landmarks[[23, 25], :2].mean(axis=0) * (320, 240)
    r, c = int(hip[1]), int(hip[0])
    if 0 <= c < 320:
        assert np.abs(frames[sample][r, c].astype(int) - background[r, c]).sum() > 30


def test_ntsc_rate_and_codec_fallback(tmp_path, small_scene):
    path = tmp_path / "ntsc.mp4"
    params = StickFigureParams(**SMALL, fps=30000 / 1001, codec="no-such-codec")
    with StickFigureVideo(path, params) as video:
        assert video.codec_name == "mpeg4"
        for sample in list(small_scene.samples())[:10]:
            video.write(sample)
    stream, frames, duration = _decode(path)
    assert len(frames) == 10
    assert stream.average_rate == Fraction(30000, 1001)
    assert abs(duration - Fraction(10 * 1001, 30000)) < Fraction(1, 1000)


def test_params_validate():
    with pytest.raises(ValueError):
        StickFigureParams(width=321)
    with pytest.raises(ValueError):
        StickFigureParams(fps=0)
    assert StickFigureParams(fps=30000 / 1001).rate == Fraction(30000, 1001)
