from pathlib import Path

import numpy as np
import pytest

from footfall.sources.errors import SourceError
from footfall.sources.video_file import VideoFileSource, VideoSourceParams, probe
from media import make_audio_only, make_video


def test_frames_have_integer_ns_times_from_zero(tmp_path):
    path = make_video(tmp_path / "a.mp4", seconds=1.0, fps=25)
    frames = list(VideoFileSource(path).frames())
    assert len(frames) == 25
    assert [f.index for f in frames] == list(range(25))
    assert all(isinstance(f.t_ns, int) for f in frames)
    assert frames[0].t_ns == 0
    assert frames[1].t_ns == 40_000_000
    assert frames[-1].t_ns + frames[-1].duration_ns == 1_000_000_000


def test_large_frames_are_scaled_for_analysis(tmp_path):
    path = make_video(tmp_path / "a.mp4", seconds=0.2, size=(320, 240))
    src = VideoFileSource(path, VideoSourceParams(max_side=200, scaled_side=160))
    frame = next(src.frames())
    assert frame.image.shape == (120, 160, 3) == (*src.analysis_shape, 3)
    assert (frame.width, frame.height) == (320, 240)


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("maker, problem", [
    (lambda d: d / "missing.mp4", "file not found"),
    (lambda d: _written(d / "empty.mp4", b""), "file is empty"),
    (lambda d: _written(d / "text.mp4", b"hello, not a video\n" * 50), "not a readable video"),
    (lambda d: make_audio_only(d / "sound.wav"), "has no video stream"),
    (lambda d: d, "is a directory"),
])
def test_bad_input_is_one_line_naming_the_file(tmp_path, maker, problem):
    path = maker(tmp_path)
    with pytest.raises(SourceError) as info:
        list(VideoFileSource(path).frames())
    message = str(info.value)
    assert message.startswith(str(path)) and problem in message and "\n" not in message


def test_truncated_file_yields_what_it_can_or_fails_cleanly(tmp_path):
    path = make_video(tmp_path / "a.mp4", seconds=1.0)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError) as info:
        list(VideoFileSource(cut).frames())
    assert str(info.value).startswith(str(cut))


def test_probe_reports_size_and_rate(tmp_path):
    info = probe(make_video(tmp_path / "a.mkv", seconds=0.5, fps=30, size=(96, 64)))
    assert (info.width, info.height, info.rate) == (96, 64, 30)


@pytest.mark.parametrize("max_side", [200, 320])  # scaled (by area, in YUV, then converted) and as stored
def test_rgb_conversion_on_one_thread_matches_pyav_default(tmp_path, max_side):
    import av

    path = make_video(tmp_path / "a.mp4", seconds=0.4, fps=25, size=(320, 240))
    params = VideoSourceParams(max_side=max_side, scaled_side=min(200, max_side), decode_threads=1)
    ours = [f.image for f in VideoFileSource(path, params).frames()]
    w, h = max_side, max_side * 3 // 4
    with av.open(str(path)) as c:
        default = [f.reformat(width=w, height=h, format="yuv420p", interpolation="AREA").to_ndarray(format="rgb24")
                   for f in c.decode(video=0)]
        c.seek(0)
        one_pass = [f.to_ndarray(format="rgb24", width=w, height=h) for f in c.decode(video=0)]
    assert len(ours) == len(default) == 10
    for a, b, c in zip(ours, default, one_pass):
        np.testing.assert_array_equal(a, b)
        assert np.abs(a.astype(int) - c).mean() < 3  # the same picture as one bilinear pass, within rounding


def test_decode_threads_must_be_positive():
    with pytest.raises(ValueError, match="decode_threads"):
        VideoSourceParams(decode_threads=0)
