"""AudioFileSink: exact lengths, sample-exact placement, 24-bit output, valid files after cancel or a kill."""
from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import pytest

from footfall.sinks.audio_file import PCM24_MAX, AudioFileSink
from footfall.sinks.errors import SinkError

RATE = 48_000


def decode(path: Path) -> np.ndarray:
    """The whole file as float64 (n, channels) in -1..1, decoded by FFmpeg."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        blocks = []
        for frame in container.decode(stream):
            data = frame.to_ndarray()
            blocks.append(data.T if frame.format.is_planar else data.reshape(-1, stream.channels))
    return np.concatenate(blocks).astype(np.float64) / 2**31


def write_in_blocks(sink, signal: np.ndarray, sizes=(317, 1024, 5, 4096)) -> None:
    pos, i = 0, 0
    while pos < signal.shape[0]:
        n = sizes[i % len(sizes)]
        sink.write(signal[pos : pos + n])
        pos, i = pos + n, i + 1


def flac_bits_per_sample(path: Path) -> int:
    """From the STREAMINFO block (the first metadata block after "fLaC")."""
    head = path.read_bytes()[:42]
    assert head[:4] == b"fLaC"
    streaminfo = head[8:42]
    return (((streaminfo[12] & 0x01) << 4) | (streaminfo[13] >> 4)) + 1


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_round_trip_is_exact_to_24_bits_and_to_the_sample(tmp_path, suffix):
    rng = np.random.default_rng(1)
    signal = (rng.uniform(-0.9, 0.9, size=(RATE, 2))).astype(np.float32)
    path = tmp_path / f"out{suffix}"
    sink = AudioFileSink(path, RATE, 2)
    write_in_blocks(sink, signal)
    sink.close()
    assert sink.samples_written == RATE
    decoded = decode(path)
    assert decoded.shape == (RATE, 2)
    expected = np.rint(signal.astype(np.float64) * PCM24_MAX) * 256 / 2**31
    assert np.array_equal(decoded, expected)


def test_wav_is_plain_pcm_24_bit(tmp_path):
    path = tmp_path / "out.wav"
    sink = AudioFileSink(path, 44_100, 1)
    sink.write(np.zeros((441, 1), np.float32))
    sink.close()
    with wave.open(str(path)) as w:
        assert (w.getsampwidth(), w.getnchannels(), w.getframerate(), w.getnframes()) == (3, 1, 44_100, 441)
    assert path.stat().st_size % 2 == 0  # odd data chunk padded to a word


def test_flac_is_24_bit(tmp_path):
    path = tmp_path / "out.flac"
    sink = AudioFileSink(path, RATE, 2)
    sink.write(np.zeros((1000, 2), np.float32))
    sink.close()
    assert flac_bits_per_sample(path) == 24


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_click_written_at_sample_k_decodes_at_sample_k(tmp_path, suffix):
    k = 12_345
    signal = np.zeros((30_000, 2), np.float32)
    signal[k] = 0.75
    path = tmp_path / f"click{suffix}"
    sink = AudioFileSink(path, RATE, 2)
    write_in_blocks(sink, signal)
    sink.close()
    decoded = decode(path)
    assert int(np.argmax(np.abs(decoded[:, 0]))) == k
    assert np.count_nonzero(decoded) == 2


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_close_pads_with_silence_to_total(tmp_path, suffix):
    path = tmp_path / f"pad{suffix}"
    sink = AudioFileSink(path, RATE, 2)
    sink.write(np.full((1000, 2), 0.5, np.float32))
    sink.close(total_samples=7_777)
    decoded = decode(path)
    assert decoded.shape == (7_777, 2)
    assert np.all(decoded[1000:] == 0) and np.all(decoded[:1000] > 0.49)


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_close_trims_an_overshooting_last_block(tmp_path, suffix):
    path = tmp_path / f"trim{suffix}"
    sink = AudioFileSink(path, RATE, 2)
    sink.write(np.zeros((4096, 2), np.float32))
    sink.write(np.zeros((4096, 2), np.float32))
    sink.close(total_samples=5000)
    assert sink.samples_written == 5000
    assert decode(path).shape == (5000, 2)


def test_trimming_below_what_is_on_disk_is_an_error(tmp_path):
    path = tmp_path / "trim.wav"
    sink = AudioFileSink(path, RATE, 2)
    sink.write(np.zeros((4096, 2), np.float32))
    sink.write(np.zeros((4096, 2), np.float32))
    with pytest.raises(SinkError, match="already written"):
        sink.close(total_samples=100)


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_total_samples_given_up_front_caps_writes(tmp_path, suffix):
    path = tmp_path / f"cap{suffix}"
    sink = AudioFileSink(path, RATE, 2, total_samples=3000)
    for _ in range(5):
        sink.write(np.zeros((1000, 2), np.float32))
    assert sink.samples_written == 3000
    sink.close()
    assert decode(path).shape == (3000, 2)


@pytest.mark.parametrize("suffix", [".wav", ".flac"])
def test_abort_keeps_what_was_written_without_padding(tmp_path, suffix):
    path = tmp_path / f"abort{suffix}"
    sink = AudioFileSink(path, RATE, 2, total_samples=10 * RATE)
    sink.write(np.zeros((2500, 2), np.float32))
    sink.abort()
    assert decode(path).shape == (2500, 2)


def test_wav_left_open_is_readable_up_to_the_last_header_update(tmp_path):
    """A run killed without close still leaves a valid WAV: the header is rewritten every second of audio."""
    path = tmp_path / "killed.wav"
    sink = AudioFileSink(path, RATE, 2)
    for _ in range(3):
        sink.write(np.zeros((RATE // 2 + 7, 2), np.float32))
    with wave.open(str(path)) as w:
        frames = w.getnframes()
    assert RATE <= frames <= sink.samples_written
    assert 44 + 6 * frames <= path.stat().st_size
    sink.close()


@pytest.mark.parametrize("name", ["missing-dir/out.wav", "missing-dir/out.flac", "a-file/out.wav"])
def test_unwritable_path_fails_at_once_with_one_line_naming_the_file(tmp_path, name):
    (tmp_path / "a-file").write_text("not a directory")
    path = tmp_path / name
    with pytest.raises(SinkError) as err:
        AudioFileSink(path, RATE, 2)
    message = str(err.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert not path.exists()


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(SinkError, match=r"out\.mp3: unsupported audio file type"):
        AudioFileSink(tmp_path / "out.mp3", RATE, 2)
    assert not (tmp_path / "out.mp3").exists()


def test_wrong_block_shape_names_the_file(tmp_path):
    sink = AudioFileSink(tmp_path / "out.wav", RATE, 2)
    with pytest.raises(SinkError, match=r"out\.wav: audio block must be \(n, 2\)"):
        sink.write(np.zeros((100, 1), np.float32))
    sink.close()
