"""The numba kernels against the plain NumPy reference on random voice sets, and the limiter's ceiling."""
import numpy as np
import pytest

from footfall.engine.mixer import kernels, reference
from footfall.engine.mixer.kernels import NO_RELEASE, ONE, VoiceState


def random_voices(rng, audio_len, capacity=48, channels=2, t0=10_000):
    """Voices that start, end, fade, wait and play through inside a block near t0, at rates around 1."""
    v = VoiceState.empty(capacity, channels)
    v.active[:] = rng.random(capacity) < 0.85
    v.bank_slot[:] = rng.integers(0, 2, capacity)
    v.length[:] = rng.integers(1, 3000, capacity)
    v.offset[:] = rng.integers(0, audio_len - v.length + 1)
    v.anchor[:] = t0 + rng.integers(-3000, 3000, capacity)
    v.pos0[:] = rng.integers(0, v.length) * ONE + rng.integers(0, ONE, capacity) * (rng.random(capacity) < 0.7)
    unit = rng.random(capacity) < 0.3
    v.step[:] = np.where(unit, ONE, np.round(2.0 ** rng.uniform(-1, 1, capacity) * ONE)).astype(np.int64)
    v.gains[:] = rng.uniform(0, 1, (capacity, channels)).astype(np.float32)
    fading = rng.random(capacity) < 0.2
    v.rel_start[:] = np.where(fading, t0 + rng.integers(-200, 600, capacity), NO_RELEASE)
    v.rel_len[:] = rng.integers(1, 400, capacity)
    filtered = rng.random(capacity) < 0.6
    v.lp_coef[:] = np.where(filtered, rng.uniform(0.02, 0.99, capacity), 1.0).astype(np.float32)
    v.lp_state[:] = np.where(filtered, rng.uniform(-0.5, 0.5, capacity), 0.0).astype(np.float32)
    v.send[:] = np.where(rng.random(capacity) < 0.5, rng.uniform(0, 1, capacity), 0.0).astype(np.float32)
    return v


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("channels", [1, 2])
def test_mix_voices_matches_reference(seed, channels):
    rng = np.random.default_rng(seed)
    audio = rng.uniform(-1, 1, 40_000).astype(np.float32)
    voices = random_voices(rng, audio.shape[0], channels=channels)
    ref_voices = voices.copy()
    n = int(rng.integers(1, 1500))
    t0 = 10_000 + int(rng.integers(-800, 800))
    bus = np.zeros((channels, 2048), np.float32)
    ref_bus = bus.copy()
    send, ref_send = np.zeros(2048, np.float32), np.zeros(2048, np.float32)
    still = kernels.mix_voices(audio, 1, voices, t0, n, bus, send)
    ref_still = reference.mix_voices(audio, 1, ref_voices, t0, n, ref_bus, ref_send)
    assert np.count_nonzero(bus) > 0
    np.testing.assert_allclose(bus, ref_bus, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(send, ref_send, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(voices.lp_state, ref_voices.lp_state, rtol=1e-5, atol=1e-6)  # carried to the next block
    assert still == ref_still
    np.testing.assert_array_equal(voices.active, ref_voices.active)
    assert not np.any(bus[:, n:]) and not np.any(send[n:])  # nothing written past the block


@pytest.mark.parametrize("engine", [kernels, reference])
def test_voice_low_pass_is_one_pole_and_continues_across_blocks(engine):
    """A constant sample through coefficient a rises as 1 - (1 - a)**(k + 1), the same whether cut into blocks."""
    audio = np.full(1000, 0.5, np.float32)
    a = 0.05
    outs = []
    for blocks in ([600], [1, 99, 500]):
        v = VoiceState.empty(1, 1)
        v.active[0], v.length[0], v.lp_coef[0], v.gains[0] = True, 1000, a, 1.0
        bus = np.zeros((1, 600), np.float32)
        t0 = 0
        for n in blocks:
            engine.mix_voices(audio, 0, v, t0, n, bus[:, t0:])
            t0 += n
        outs.append(bus[0].copy())
    expect = 0.5 * (1.0 - (1.0 - a) ** (np.arange(600) + 1))
    np.testing.assert_allclose(outs[0], expect, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(outs[1], expect, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_reflections_match_reference_across_blocks(seed):
    rng = np.random.default_rng(seed)
    delays = np.sort(rng.integers(1, 300, 5)).astype(np.int64)
    gains = rng.uniform(0, 1, (5, 2)).astype(np.float32)
    ring, ref_ring = np.zeros(int(delays.max()) + 1, np.float32), np.zeros(int(delays.max()) + 1, np.float32)
    head, ref_head = np.zeros(1, np.int64), np.zeros(1, np.int64)
    for n in (7, 350, 1, 120, 800):  # blocks shorter and longer than the ring
        send = rng.standard_normal(1024).astype(np.float32)
        ref_send = send.copy()
        bus = rng.standard_normal((2, 1024)).astype(np.float32)
        ref_bus = bus.copy()
        kernels.reflect(send, n, ring, head, delays, gains, bus)
        reference.reflect(ref_send, n, ref_ring, ref_head, delays, gains, ref_bus)
        np.testing.assert_allclose(bus, ref_bus, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(ring, ref_ring)
        assert head[0] == ref_head[0]
        assert not np.any(send[:n]) and not np.any(ref_send[:n])  # the send is consumed


def test_reflections_are_delayed_scaled_copies():
    ring, head = np.zeros(50, np.float32), np.zeros(1, np.int64)
    send = np.zeros(200, np.float32)
    send[3] = 1.0
    bus = np.zeros((2, 200), np.float32)
    kernels.reflect(send, 200, ring, head, np.array([10, 40], np.int64), np.array([[0.5, 0.1], [0.2, 0.3]], np.float32),
                    bus)
    assert np.flatnonzero(bus[0]).tolist() == [13, 43]
    assert bus[0, 13] == pytest.approx(0.5) and bus[1, 43] == pytest.approx(0.3)


def test_mix_voices_retires_only_finished_voices_of_its_bank():
    audio = np.ones(100, np.float32)
    v = VoiceState.empty(3, 2)
    v.active[:] = True
    v.bank_slot[:] = [0, 0, 1]
    v.length[:] = [10, 100, 10]
    bus = np.zeros((2, 64), np.float32)
    assert kernels.mix_voices(audio, 0, v, 0, 64, bus) == 1
    assert v.active.tolist() == [False, True, True]
    assert np.all(bus[:, :10] == 0.0)  # gains are zero: silence, but the voices still advanced


@pytest.mark.parametrize("seed", range(4))
def test_limiter_matches_reference_across_blocks(seed):
    rng = np.random.default_rng(seed)
    state, ref_state = np.ones(1), np.ones(1)
    coef = float(np.exp(-1.0 / rng.uniform(10, 4000)))
    for _ in range(4):
        n = int(rng.integers(1, 700))
        bus = (rng.standard_normal((2, 1024)) * rng.uniform(0.1, 8)).astype(np.float32)
        ref_bus = bus.copy()
        out = np.zeros((n, 2), np.float32)
        ref_out = np.zeros((n, 2), np.float32)
        kernels.limit(bus, n, 0.7, 0.89, coef, state, out)
        reference.limit(ref_bus, n, 0.7, 0.89, coef, ref_state, ref_out)
        np.testing.assert_allclose(out, ref_out, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(state, ref_state, rtol=1e-9)
        assert not np.any(bus[:, :n]) and not np.any(ref_bus[:, :n])  # the bus is consumed


def test_limiter_never_exceeds_threshold_and_passes_quiet_audio_untouched():
    rng = np.random.default_rng(3)
    threshold = 10 ** (-1 / 20)
    loud = (rng.standard_normal((2, 4096)) * 50).astype(np.float32)
    out = np.zeros((4096, 2), np.float32)
    state = np.ones(1)
    kernels.limit(loud, 4096, 1.0, threshold, 0.999, state, out)
    assert np.abs(out).max() <= threshold
    assert np.abs(out).max() > 0.99 * threshold
    quiet = (rng.uniform(-0.5, 0.5, (2, 256))).astype(np.float32)
    expect = quiet.T.copy()
    out = np.zeros((256, 2), np.float32)
    kernels.limit(quiet, 256, 1.0, threshold, 0.0, np.ones(1), out)
    np.testing.assert_array_equal(out, expect)


@pytest.mark.parametrize(
    "call",
    [
        lambda v, a, b: kernels.mix_voices(a.astype(np.float64), 0, v, 0, 8, b),
        lambda v, a, b: kernels.mix_voices(a, 0, v, 0, 9999, b),
        lambda v, a, b: kernels.mix_voices(a, 0, v, 0, 8, b.astype(np.float64)),
        lambda v, a, b: kernels.mix_voices(a[:5], 0, v, 0, 8, b),
        lambda v, a, b: kernels.limit(b, 8, 1.0, 0.9, 0.5, np.ones(1), np.zeros((7, 2), np.float32)),
        lambda v, a, b: kernels.limit(b, 8, 1.0, 0.9, 1.5, np.ones(1), np.zeros((8, 2), np.float32)),
    ],
)
def test_wrappers_reject_bad_arrays(call):
    v = VoiceState.empty(4, 2)
    v.active[0] = True
    v.length[0] = 10
    with pytest.raises(ValueError):
        call(v, np.zeros(20, np.float32), np.zeros((2, 16), np.float32))
