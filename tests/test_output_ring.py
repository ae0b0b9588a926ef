"""The callback's one copy: the numba kernel against its NumPy reference, underruns zero-filled and counted, the
played audio recorded exactly, the ring's wrap-around."""
import numpy as np
import pytest

from footfall.sinks.output_ring import (CALLBACKS, REC_LOST, UNDERRUN_FRAMES, UNDERRUNS, OutputRing, _play_kernel,
                                        play_reference)


def fill(ring: OutputRing, values: np.ndarray) -> None:
    done = 0
    while done < len(values):
        region = ring.writable()[: len(values) - done]
        region[:] = values[done:done + len(region)]
        ring.commit(len(region))
        done += len(region)


@pytest.mark.parametrize("play", [_play_kernel, play_reference])
def test_plays_in_order_across_the_wrap_and_zero_fills_a_shortfall(play):
    ring = OutputRing(10, 2, record_capacity=64)
    audio = np.arange(2 * 26, dtype=np.float32).reshape(26, 2)
    out = np.empty((4, 2), np.float32)
    played = []
    fill(ring, audio[:8])
    for start in range(8, 26, 4):
        play(ring.audio, ring.counters, out, ring.played, True)
        played.append(out.copy())
        fill(ring, audio[start:start + 4])
    while ring.fill:
        play(ring.audio, ring.counters, out, ring.played, True)
        played.append(out.copy())
    got = np.concatenate(played)
    np.testing.assert_array_equal(got[:26], audio)
    np.testing.assert_array_equal(got[26:], 0.0)  # the last call found 2 frames short: silence
    assert ring.counters[UNDERRUNS] == 1 and ring.counters[UNDERRUN_FRAMES] == len(got) - 26
    assert ring.counters[CALLBACKS] == len(played)
    np.testing.assert_array_equal(ring.take_played(), got)  # the record is exactly what was played
    assert ring.take_played() is None


def test_kernel_matches_reference_on_random_traffic():
    rng = np.random.default_rng(3)
    rings = [OutputRing(37, 2, 50), OutputRing(37, 2, 50)]
    for _ in range(300):
        n = int(rng.integers(0, 20))
        values = rng.standard_normal((n, 2)).astype(np.float32)
        frames = int(rng.integers(1, 12))
        take = rng.random() < 0.5
        outs = []
        for ring, play in zip(rings, (_play_kernel, play_reference)):
            room = ring.capacity - ring.fill
            fill(ring, values[:room])
            out = np.full((frames, 2), 7.0, np.float32)
            play(ring.audio, ring.counters, out, ring.played, True)
            outs.append(out)
            if take:
                ring.take_played()
        np.testing.assert_array_equal(outs[0], outs[1])
        np.testing.assert_array_equal(rings[0].counters, rings[1].counters)


def test_a_recorder_a_whole_ring_behind_loses_blocks_instead_of_blocking():
    ring = OutputRing(8, 1, record_capacity=6)
    out = np.empty((4, 1), np.float32)
    ring.play(out)
    ring.play(out)  # 8 frames would not fit in 6
    assert ring.counters[REC_LOST] == 4
    assert ring.take_played().shape == (4, 1)


def test_writable_region_never_overwrites_unplayed_audio():
    ring = OutputRing(8, 1)
    fill(ring, np.ones((8, 1), np.float32))
    assert ring.writable().shape[0] == 0
    ring.play(np.empty((3, 1), np.float32))
    assert ring.writable().shape[0] == 3
