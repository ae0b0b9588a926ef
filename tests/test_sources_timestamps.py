"""Steps depend on time, not on how a file stores it: containers, time bases, offsets, VFR, frame rates.

Each clip's pictures carry the number of the walker pose they show (ten black or white columns), so a test decodes a
file through the product's source, reads which pose each frame shows, and gives the detector exactly what a pose model
would see at the times the file says. A remux, a re-timing or a dropped frame then changes only the times.
"""
from fractions import Fraction

import numpy as np
import pytest

from footfall.engine.messages import NS_PER_S
from footfall.engine.steps.detector import StepDetector, StepParams
from footfall.sources.procedural_walkers import ProceduralWalkers, WalkerSceneParams
from footfall.sources.video_file import VideoFileSource
from media import remux, write_pictures

BITS, COLUMN, HEIGHT = 10, 8, 32
SECONDS = 6.0


def coded_picture(n: int) -> np.ndarray:
    img = np.zeros((HEIGHT, BITS * COLUMN, 3), np.uint8)
    for bit in range(BITS):
        if n >> bit & 1:
            img[:, bit * COLUMN:(bit + 1) * COLUMN] = 255
    return img


def read_code(image: np.ndarray) -> int:
    columns = image.reshape(image.shape[0], BITS, COLUMN, 3).mean(axis=(0, 2, 3))
    return int(sum(1 << bit for bit in range(BITS) if columns[bit] > 128))


def scene(fps: Fraction) -> ProceduralWalkers:
    return ProceduralWalkers(WalkerSceneParams(duration_s=SECONDS, fps=float(fps)))


def clip(path, walkers: ProceduralWalkers, shown: list[int], times_s: list[float], **kw):
    """A file showing walker pose `shown[k]` at `times_s[k]`."""
    return write_pictures(path, [coded_picture(n) for n in shown], times_s, **kw)


def steps_from(path, walkers: ProceduralWalkers, mode: str) -> list:
    """The detector's steps on what the file's frames show, at the times the product's source reads."""
    frames = list(VideoFileSource(path).frames())
    content_ns = [walkers.frame_time_ns(read_code(f.image)) for f in frames]
    shown = list(walkers.samples_at(content_ns))
    detector = StepDetector(StepParams(mode=mode))
    events = []
    for frame, sample in zip(frames, shown):
        events += detector.push(type(sample)(frame.index, frame.t_ns, sample.width, sample.height, sample.persons))
    return events + detector.flush()


def assert_same_steps(got, expected, period_ns: float):
    assert len(got) == len(expected) > 5
    for a, b in zip(got, expected):
        assert a.foot == b.foot and abs(a.t_ns - b.t_ns) <= period_ns


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """A 30 fps H.264 clip with B-frames (reordered: pts order is not decode order) in .mp4 with an edit list."""
    walkers = scene(Fraction(30))
    n = walkers.frame_count
    path = clip(tmp_path_factory.mktemp("plain") / "walk.mp4", walkers, list(range(n)), [i / 30 for i in range(n)],
                options={"x264-params": "bframes=3:b-adapt=0", "qp": "10"})
    return walkers, path


def test_plain_clip_has_b_frames(plain):
    import av

    with av.open(str(plain[1])) as c:
        packets = [p for p in c.demux(c.streams.video[0]) if p.pts is not None]
        assert any(b.pts < a.pts for a, b in zip(packets, packets[1:]))  # stored out of presentation order


@pytest.mark.parametrize("mode", ["render", "live"])
@pytest.mark.parametrize("variant", ["mkv", "webm", "mp4_90k_offset", "mov_30000", "mkv_1000"])
def test_remuxed_and_retimed_clips_give_the_same_steps(plain, tmp_path, mode, variant):
    walkers, path = plain
    if variant == "mkv":
        other = remux(path, tmp_path / "walk.mkv")
    elif variant == "webm":  # WebM holds VP8/VP9 only: the same pictures re-encoded, at WebM's 1 ms time base
        n = walkers.frame_count
        other = clip(tmp_path / "walk.webm", walkers, list(range(n)), [i / 30 for i in range(n)],
                     codec="libvpx-vp9", time_base=Fraction(1, 1000), options={"lossless": "1", "deadline": "realtime"})
    elif variant == "mp4_90k_offset":
        other = remux(path, tmp_path / "walk.mp4", Fraction(1, 90000), offset_s=3.7)
    elif variant == "mov_30000":
        other = remux(path, tmp_path / "walk.mov", Fraction(1, 30000))
    else:
        other = remux(path, tmp_path / "walk.mkv", Fraction(1, 1000), offset_s=0.5)
    assert_same_steps(steps_from(other, walkers, mode), steps_from(path, walkers, mode), NS_PER_S / 30)


@pytest.mark.parametrize("mode", ["render", "live"])
@pytest.mark.parametrize("variant", ["dropped", "duplicated", "jitter"])
def test_variable_frame_rate_gives_the_same_steps(plain, tmp_path, mode, variant):
    walkers, path = plain
    n = walkers.frame_count
    times = [i / 30 for i in range(n)]
    shown = list(range(n))
    if variant == "dropped":  # a phone dropping a frame now and then: the others keep their true times
        keep = [k for k in range(n) if k % 9 != 4]
        shown, times = [shown[k] for k in keep], [times[k] for k in keep]
    elif variant == "duplicated":  # a constant-rate conversion repeating a picture to fill the slot of a lost one
        shown = [k - 1 if k % 9 == 4 else k for k in range(n)]
    else:  # capture times jittered by up to 4 ms
        rng = np.random.default_rng(3)
        times = [t + (rng.uniform(-0.004, 0.004) if k else 0.0) for k, t in enumerate(times)]
    other = clip(tmp_path / "vfr.mp4", walkers, shown, times, options={"qp": "10"})
    assert_same_steps(steps_from(other, walkers, mode), steps_from(path, walkers, mode), NS_PER_S / 30)


@pytest.mark.parametrize("mode", ["render", "live"])
@pytest.mark.parametrize("fps", [Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001),
                                 Fraction(30), Fraction(50), Fraction(60000, 1001), Fraction(60)])
def test_every_common_frame_rate_finds_every_step(tmp_path, mode, fps):
    walkers = scene(fps)
    n = walkers.frame_count
    path = clip(tmp_path / "walk.mp4", walkers, list(range(n)), [walkers.frame_time_ns(i) / NS_PER_S for i in range(n)],
                options={"qp": "10"})
    inside = (0.6 * NS_PER_S, (SECONDS - 0.4) * NS_PER_S)  # a track starts late and ends early at the frame's edge
    got = [e for e in steps_from(path, walkers, mode) if inside[0] <= e.t_ns <= inside[1]]
    truth = [c for c in walkers.contacts() if c.on_screen and inside[0] <= c.t_ns <= inside[1]]
    # one tolerance in time for every rate (the detector's contact calibration, not the rate, sets the error: it
    # places these synthetic walkers' contacts 8-23 ms from theirs at every rate)
    matched = [c for c in truth if any(abs(e.t_ns - c.t_ns) <= NS_PER_S / 30 for e in got)]
    assert len(got) == len(truth) and len(matched) == len(truth)
