"""VideoMuxSink: video copied packet for packet, footstep track exact to the sample, valid files after a cancel.

Clips are generated here with PyAV: 2 s, 320x240, H.264 (with B-frames, so dts != pts) or MPEG-4 part 2, at 25 and
30 fps, with or without an AAC track, in mp4, mov and mkv.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from footfall.engine.messages import ns_to_samples
from footfall.sinks.errors import SinkError
from footfall.sinks.video_mux import VideoMuxSink, video_duration_ns

RATE = 48_000
SECONDS = 2
TONE_HZ = 440.0


def make_clip(path: Path, fps: int, video_codec: str = "libx264", audio_rate: int | None = RATE,
              start_frame: int = 0) -> Path:
    """A clip whose frames change every frame and whose audio (if any) is a quiet 440 Hz tone.

    With `start_frame`, the video's first pts is that frame's time (the audio still starts at 0)."""
    with av.open(str(path), "w") as container:
        video = container.add_stream(video_codec, rate=fps)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        if video_codec == "libx264":
            video.options = {"preset": "veryfast"}  # keeps B-frames: decode order differs from display order
        audio = container.add_stream("aac", rate=audio_rate, layout="stereo") if audio_rate else None
        for i in range(fps * SECONDS):
            image = np.full((240, 320, 3), (i * 9) % 256, np.uint8)
            image[(i * 4) % 240 :, : (i * 5) % 320] = 255 - image[0, 0]
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = start_frame + i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio is not None:
            n = audio_rate * SECONDS
            tone = (0.25 * np.sin(2 * np.pi * TONE_HZ * np.arange(n) / audio_rate)).astype(np.float32)
            for start in range(0, n, 1024):
                chunk = tone[start : start + 1024]
                frame = av.AudioFrame.from_ndarray(np.stack([chunk, chunk]), format="fltp", layout="stereo")
                frame.sample_rate, frame.pts = audio_rate, start
                container.mux(audio.encode(frame))
            container.mux(audio.encode(None))
    return path


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    """clip(suffix, fps, video_codec, audio_rate) -> path, each made once per session."""
    made: dict[tuple, Path] = {}
    folder = tmp_path_factory.mktemp("clips")

    def get(suffix=".mp4", fps=25, video_codec="libx264", audio_rate=RATE) -> Path:
        key = (suffix, fps, video_codec, audio_rate)
        if key not in made:
            name = f"clip_{fps}_{video_codec}_{audio_rate or 'silent'}{suffix}"
            made[key] = make_clip(folder / name, fps, video_codec, audio_rate)
        return made[key]

    return get


def write_footsteps(sink: VideoMuxSink, signal: np.ndarray, block: int = 999) -> None:
    for start in range(0, signal.shape[0], block):
        sink.write(signal[start : start + block])


def decode_audio(path: Path, index: int = 0) -> np.ndarray:
    """Audio stream `index` of a file, decoded to float64 (n, channels) in -1..1, from its first sample."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[index]
        blocks = []
        for frame in container.decode(stream):
            data = frame.to_ndarray()
            data = data.T if frame.format.is_planar else data.reshape(-1, stream.channels)
            if data.dtype == np.int32:
                data = data / 2**31
            blocks.append(data.astype(np.float64))
    return np.concatenate(blocks)


def video_packets(path: Path) -> list[tuple]:
    """Every packet of the first video stream: bytes, pts, dts, keyframe flag, duration (timestamps relative to the
    stream's first pts in file order, which is what a container's own start shift leaves unchanged)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [p for p in container.demux(stream) if p.size]
        first = packets[0].pts
        return [(bytes(p), p.pts - first, None if p.dts is None else p.dts - first, p.is_keyframe, p.duration)
                for p in packets], stream.time_base


def stream_kinds(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [s.type for s in container.streams]


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
@pytest.mark.parametrize("fps", [25, 30])
def test_video_duration_is_exact_from_the_packets(clip, suffix, fps):
    assert video_duration_ns(clip(suffix, fps)) == SECONDS * 1_000_000_000


def test_video_duration_of_a_file_without_video_is_an_error(tmp_path):
    path = tmp_path / "sound.flac"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("flac", rate=RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 4800), np.int16), format="s16", layout="mono")
        frame.sample_rate, frame.pts = RATE, 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    with pytest.raises(SinkError, match=r"sound\.flac: has no video stream"):
        video_duration_ns(path)


@pytest.mark.parametrize(
    "suffix, fps, video_codec, audio_rate, mode",
    [
        (".mp4", 25, "libx264", RATE, "track"),
        (".mp4", 30, "mpeg4", None, "track"),
        (".mov", 30, "libx264", RATE, "mix"),
        (".mov", 25, "mpeg4", RATE, "drop"),
        (".mkv", 25, "libx264", RATE, "track"),
        (".mkv", 30, "libx264", 44_100, "mix"),
        (".mkv", 30, "mpeg4", None, "drop"),
    ],
)
def test_footstep_track_lasts_exactly_as_long_as_the_video(clip, tmp_path, suffix, fps, video_codec, audio_rate,
                                                           mode):
    source = clip(suffix, fps, video_codec, audio_rate)
    out = tmp_path / f"out{suffix}"
    sink = VideoMuxSink(source, out, RATE, 2, original_audio=mode)
    write_footsteps(sink, np.zeros((RATE, 2), np.float32))  # half of it: close pads the rest
    sink.close()
    expected = ns_to_samples(video_duration_ns(source), RATE)
    assert sink.samples_written == expected
    assert decode_audio(out).shape == (expected, 2)
    assert video_duration_ns(out) == video_duration_ns(source)
    original_tracks = 1 if (audio_rate and mode == "track") else 0
    assert stream_kinds(out) == ["video", "audio"] + ["audio"] * original_tracks


@pytest.mark.parametrize(
    "source_suffix, out_suffix, fps, video_codec",
    [(".mp4", ".mp4", 25, "libx264"), (".mp4", ".mov", 30, "libx264"), (".mov", ".mov", 30, "mpeg4"),
     (".mkv", ".mkv", 25, "libx264"), (".mkv", ".mkv", 30, "mpeg4")],
)
def test_video_packets_are_copied_unchanged(clip, tmp_path, source_suffix, out_suffix, fps, video_codec):
    source = clip(source_suffix, fps, video_codec)
    out = tmp_path / f"out{out_suffix}"
    sink = VideoMuxSink(source, out, RATE, 2, original_audio="track")
    write_footsteps(sink, np.zeros((2 * RATE, 2), np.float32), block=2048)
    sink.close()
    (before, tb_before), (after, tb_after) = video_packets(source), video_packets(out)
    assert tb_after == tb_before
    assert len(after) == len(before) == fps * SECONDS
    assert after == before


@pytest.mark.parametrize("suffix, start_frame", [(".mp4", 0), (".mov", 0), (".mkv", 0), (".mkv", 10), (".mov", 10)])
def test_footsteps_start_with_the_first_video_frame(tmp_path, suffix, start_frame):
    source = make_clip(tmp_path / f"in{suffix}", 25, "mpeg4", None, start_frame=start_frame)
    out = tmp_path / f"out{suffix}"
    sink = VideoMuxSink(source, out, RATE)
    sink.close()
    with av.open(str(source)) as a, av.open(str(out)) as b:
        video_start = a.streams.video[0].start_time * a.streams.video[0].time_base
        assert video_start == Fraction(start_frame, 25)
        assert b.streams.video[0].start_time * b.streams.video[0].time_base == video_start
        assert b.streams.audio[0].start_time * b.streams.audio[0].time_base == video_start
        assert video_duration_ns(out) == video_duration_ns(source) == SECONDS * 1_000_000_000


@pytest.mark.parametrize("suffix, codec", [(".mp4", None), (".mov", None), (".mkv", None), (".mp4", "alac"),
                                           (".mkv", "libopus"), (".mp4", "aac")])
def test_click_written_at_sample_k_is_decoded_at_sample_k(clip, tmp_path, suffix, codec):
    k = 31_337
    source = clip(suffix, 30, "libx264", None)
    out = tmp_path / f"out{suffix}"
    signal = np.zeros((2 * RATE, 2), np.float32)
    signal[k] = 0.9
    sink = VideoMuxSink(source, out, RATE, 2, audio_codec=codec)
    write_footsteps(sink, signal, block=777)
    sink.close()
    decoded = decode_audio(out)[:, 0]
    assert int(np.argmax(np.abs(decoded))) == k


def test_aac_in_mp4_is_exact_in_the_container_and_padded_when_decoded(clip, tmp_path):
    """Measured behaviour that made flac the mp4 default: AAC's edit list states the exact duration and trims the
    encoder priming at the start, but FFmpeg decodes the last frame's padding (to a multiple of 1024) as well."""
    source = clip(".mp4", 25, "libx264", None)
    out = tmp_path / "out.mp4"
    sink = VideoMuxSink(source, out, RATE, 2, audio_codec="aac")
    sink.close()
    expected = ns_to_samples(video_duration_ns(source), RATE)
    with av.open(str(out)) as container:
        assert container.streams.audio[0].duration == expected
    decoded = decode_audio(out).shape[0]
    assert expected <= decoded < expected + 1024 and decoded % 1024 == 0


def test_track_mode_copies_the_original_audio_packets_untouched(clip, tmp_path):
    source = clip(".mp4", 25, "libx264", RATE)
    out = tmp_path / "out.mp4"
    sink = VideoMuxSink(source, out, RATE, 2, original_audio="track")
    sink.close()

    def audio_packets(path, index):
        with av.open(str(path)) as container:
            return [(bytes(p), p.pts, p.dts, p.duration) for p in container.demux(container.streams.audio[index])
                    if p.size]

    assert audio_packets(out, 1) == audio_packets(source, 0)


def test_mix_mode_puts_the_original_audio_under_the_footsteps(clip, tmp_path):
    source = clip(".mov", 25, "libx264", RATE)
    out = tmp_path / "out.mov"
    footsteps = np.zeros((2 * RATE, 2), np.float32)
    footsteps[10_000:10_100] = 0.5
    sink = VideoMuxSink(source, out, RATE, 2, original_audio="mix")
    write_footsteps(sink, footsteps, block=640)
    sink.close()
    original = decode_audio(source)[: 2 * RATE]
    mixed = decode_audio(out)
    assert mixed.shape == original.shape == (2 * RATE, 2)
    assert np.max(np.abs(mixed - (original + footsteps))) < 1e-5  # 24-bit pcm in the mov


def make_impulse_clip(path: Path, audio_rate: int, audio_start_s: float, impulse_s: float) -> Path:
    """Black mkv video from 0 s, FLAC audio from `audio_start_s` with one impulse at `impulse_s` (media time)."""
    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=25)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        audio = container.add_stream("flac", rate=audio_rate, layout="stereo")
        for i in range(25 * SECONDS):
            frame = av.VideoFrame.from_ndarray(np.zeros((240, 320, 3), np.uint8), format="rgb24")
            frame.pts = i
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        first = round(audio_start_s * audio_rate)
        signal = np.zeros(SECONDS * audio_rate - first, np.int16)
        signal[round(impulse_s * audio_rate) - first] = 20_000
        for start in range(0, signal.shape[0], 4096):
            chunk = np.repeat(signal[start : start + 4096], 2).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
            frame.sample_rate, frame.pts = audio_rate, first + start
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    return path


@pytest.mark.parametrize("audio_rate, audio_start_s", [(48_000, 0.0), (44_100, 0.0), (32_000, 0.0), (44_100, 0.25)])
def test_mixed_original_audio_keeps_its_timing_through_resampling(tmp_path, audio_rate, audio_start_s):
    source = make_impulse_clip(tmp_path / "in.mkv", audio_rate, audio_start_s, impulse_s=0.75)
    out = tmp_path / "out.mkv"
    sink = VideoMuxSink(source, out, RATE, 2, original_audio="mix")
    sink.close()
    mixed = decode_audio(out)[:, 0]
    assert mixed.shape == (SECONDS * RATE,)
    assert int(np.argmax(np.abs(mixed))) == round(0.75 * RATE)


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_abort_leaves_a_playable_file_with_both_streams_ending_together(clip, tmp_path, suffix):
    source = clip(suffix, 25, "libx264", RATE)
    out = tmp_path / f"out{suffix}"
    written = RATE + 123
    sink = VideoMuxSink(source, out, RATE, 2, original_audio="track")
    write_footsteps(sink, np.zeros((written, 2), np.float32))
    sink.abort()
    assert decode_audio(out).shape == (written, 2)
    with av.open(str(out)) as container:
        frames = list(container.decode(video=0))
        start = container.streams.video[0].start_time * container.streams.video[0].time_base
    video_end = float(frames[-1].time - start) + 1 / 25
    audio_end = written / RATE
    assert audio_end - 1 / 25 <= video_end <= audio_end + 4 / 25  # B-frames: dts runs up to 2 frames ahead of pts
    assert len(frames) < 25 * SECONDS


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
def test_abort_before_any_audio_still_leaves_a_readable_file(clip, tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    VideoMuxSink(clip(".mp4", 25, "mpeg4"), out, RATE).abort()
    with av.open(str(out)) as container:
        assert len(list(container.decode(video=0))) >= 1


def test_writing_past_the_video_end_is_dropped(clip, tmp_path):
    source = clip(".mkv", 25, "libx264", None)
    sink = VideoMuxSink(source, tmp_path / "out.mkv", RATE)
    write_footsteps(sink, np.zeros((3 * RATE, 2), np.float32))
    assert sink.samples_written == 2 * RATE
    sink.close()
    assert decode_audio(tmp_path / "out.mkv").shape == (2 * RATE, 2)


def test_duration_can_be_given(clip, tmp_path):
    source = clip(".mkv", 25, "libx264", None)
    sink = VideoMuxSink(source, tmp_path / "out.mkv", RATE, duration_ns=1_500_000_000)
    sink.close()
    assert decode_audio(tmp_path / "out.mkv").shape == (ns_to_samples(1_500_000_000, RATE), 2)


@pytest.mark.parametrize("name", ["missing-dir/out.mp4", "missing-dir/out.mkv", "a-file/out.mov"])
def test_unwritable_output_fails_at_once_with_one_line_naming_the_file(clip, tmp_path, name):
    (tmp_path / "a-file").write_text("not a directory")
    path = tmp_path / name
    with pytest.raises(SinkError) as err:
        VideoMuxSink(clip(".mp4", 25), path, RATE)
    message = str(err.value)
    assert message.startswith(f"{path}: cannot write") and "\n" not in message
    assert not path.exists()


def test_streams_the_container_cannot_hold_are_refused_without_leaving_a_file(clip, tmp_path):
    path = tmp_path / "out.mov"
    with pytest.raises(SinkError, match=r"out\.mov: \.mov cannot hold these streams \(footstep codec libopus"):
        VideoMuxSink(clip(".mp4", 25), path, RATE, audio_codec="libopus")
    assert not path.exists()


def test_bad_arguments_are_refused(clip, tmp_path):
    with pytest.raises(SinkError, match=r"out\.avi: unsupported video file type"):
        VideoMuxSink(clip(".mp4", 25), tmp_path / "out.avi", RATE)
    with pytest.raises(SinkError, match="would overwrite the input"):
        VideoMuxSink(clip(".mp4", 25), clip(".mp4", 25), RATE)
    with pytest.raises(SinkError, match=r"missing\.mp4: cannot read video"):
        VideoMuxSink(tmp_path / "missing.mp4", tmp_path / "out.mp4", RATE)
    with pytest.raises(SinkError, match="cannot be stored in .mkv"):
        VideoMuxSink(clip(".mp4", 25), tmp_path / "out.mkv", RATE, audio_codec="no-such-codec")
