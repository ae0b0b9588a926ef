"""Phone clips: the picture analysed is the one a player shows (display matrix applied), and the output keeps it."""
import av
import numpy as np
import pytest

from footfall.sources.orientation import Orientation, frame_orientation
from footfall.sources.video_file import VideoFileSource, probe
from media import stored_picture, write_pictures

# PyAV's set_display_rotation(degrees counter-clockwise, hflip, vflip): all eight orientations
ORIENTATIONS = [(0, False, False), (90, False, False), (180, False, False), (-90, False, False),
                (0, True, False), (0, False, True), (90, True, False), (-90, True, False)]
DESCRIBED = {(0, False, False): "", (90, False, False): "rotated 90° counter-clockwise",
             (180, False, False): "rotated 180° clockwise", (-90, False, False): "rotated 90° clockwise",
             (0, True, False): "mirrored", (0, False, True): "mirrored and rotated 180° clockwise",
             (90, True, False): "mirrored and rotated 90° clockwise",
             (-90, True, False): "mirrored and rotated 90° counter-clockwise"}


def displayed_pictures(n: int = 6, w: int = 96, h: int = 64) -> list[np.ndarray]:
    """Pictures whose every orientation is distinct: a bright block top left, a ramp to the right."""
    out = []
    for i in range(n):
        img = np.zeros((h, w, 3), np.uint8)
        img[..., 0] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]
        img[4:20, 6:30, 1] = 255
        img[h - 12:h - 4, w // 2 + i:w // 2 + i + 8, 2] = 255
        out.append(img)
    return out


@pytest.mark.parametrize("rotation", ORIENTATIONS)
def test_frames_are_the_picture_as_shown(tmp_path, rotation):
    shown = displayed_pictures()
    path = write_pictures(tmp_path / "phone.mp4", [stored_picture(p, *rotation) for p in shown],
                          [i / 30 for i in range(len(shown))], rotation=rotation, options={"qp": "0"})
    info = probe(path)
    assert (info.width, info.height) == (96, 64)
    assert info.orientation.describe() == DESCRIBED[rotation]
    frames = list(VideoFileSource(path).frames())
    assert len(frames) == len(shown)
    for frame, picture in zip(frames, shown):
        assert (frame.width, frame.height) == (96, 64)
        assert frame.image.shape == picture.shape
        assert np.abs(frame.image.astype(int) - picture).mean() < 4  # yuv420 round trip, nothing turned


def test_orientation_from_matrix_matches_numpy_rotations():
    img = np.arange(2 * 3 * 1).reshape(2, 3, 1)
    q = 65536
    cases = {  # FFmpeg display matrices (2x2 part) and what a player shows
        (q, 0, 0, q): img,
        (0, -q, q, 0): np.rot90(img, 1),  # 90 counter-clockwise
        (0, q, -q, 0): np.rot90(img, -1),  # 90 clockwise: portrait phone video
        (-q, 0, 0, -q): np.rot90(img, 2),
        (-q, 0, 0, q): img[:, ::-1],
    }
    for (m0, m1, m3, m4), expected in cases.items():
        o = Orientation.from_display_matrix([m0, m1, 0, m3, m4, 0, 0, 0, 1 << 30])
        assert np.array_equal(o.apply(img), expected)
        assert np.shares_memory(o.apply(img), img)  # a view: no pixels copied
        assert o.display_size(3, 2) == expected.shape[1::-1]


def test_bad_matrix_is_refused():
    with pytest.raises(ValueError):
        Orientation.from_display_matrix([1, 2, 3])


def test_render_output_keeps_the_display_matrix(tmp_path):
    from footfall.sinks.video_mux import VideoMuxSink

    shown = displayed_pictures(10)
    src = write_pictures(tmp_path / "phone.mp4", [stored_picture(p, -90) for p in shown],
                         [i / 30 for i in range(len(shown))], rotation=(-90, False, False))
    out = tmp_path / "out.mov"
    sink = VideoMuxSink(src, out, 48000, 2)
    sink.close()
    with av.open(str(out)) as c:
        frame = next(c.decode(c.streams.video[0]))
        assert frame_orientation(frame) == Orientation(True, True, False)
        assert frame.rotation == -90
