"""The mixer's math in plain NumPy: the yardstick the numba kernels are tested against, and the bench's baseline.

Same signatures and same state updates as `kernels.mix_voices`, `kernels.reflect` and `kernels.limit`, written
independently: voices are mixed with whole-block array expressions (the one-pole low-pass by scipy's lfilter with its
initial state), reflections are delayed copies of the send's history, and the limiter's recursive gain is solved in
closed form (a running maximum of exponentially decayed gain reductions) instead of sample by sample.
"""
from __future__ import annotations

import numpy as np

from footfall.engine.mixer.kernels import FRAC_BITS, FRAC_MASK, NO_RELEASE, ONE, VoiceState


def mix_voices(audio: np.ndarray, slot: int, voices: VoiceState, t0: int, n: int, bus: np.ndarray,
               send_bus: np.ndarray | None = None) -> int:
    """NumPy twin of `kernels.mix_voices`."""
    t = np.arange(t0, t0 + n + 1, dtype=np.int64)  # one frame past the block tells whether the voice ended
    still = 0
    for v in np.flatnonzero(voices.active & (voices.bank_slot == slot)):
        last = int(voices.length[v] - 1) << FRAC_BITS
        pos = voices.pos0[v] + (t - voices.anchor[v]) * voices.step[v]
        sounding = (pos[:n] >= 0) & (pos[:n] <= last)
        fading = voices.rel_start[v] != NO_RELEASE
        rel_end = int(voices.rel_start[v] + voices.rel_len[v])
        if fading:
            sounding &= t[:n] < rel_end
        k = np.flatnonzero(sounding)
        if k.size:
            pk = pos[k]
            i = voices.offset[v] + (pk >> FRAC_BITS)
            x0 = audio[i]
            x1 = audio[np.where(pk < last, i + 1, i)]
            frac = (pk & FRAC_MASK).astype(np.float32) * np.float32(1.0 / ONE)
            s = np.where(pk < last, x0 + (x1 - x0) * frac, x0)
            if fading:
                s = s * ((rel_end - t[k]).astype(np.float32) * np.float32(1.0 / voices.rel_len[v]))
            a = float(voices.lp_coef[v])
            if a < 1.0:  # sounding frames are contiguous, so the filter runs over them in one go
                from scipy.signal import lfilter  # here: the render path does not load scipy.signal
                zi = [(1.0 - a) * float(voices.lp_state[v])]
                s, _ = lfilter([a], [1.0, a - 1.0], s.astype(np.float64), zi=zi)
                voices.lp_state[v] = s[-1]
                s = s.astype(np.float32)
            bus[:, k] += voices.gains[v][:, None] * s[None, :]
            if send_bus is not None and voices.send[v] != 0.0:
                send_bus[k] += voices.send[v] * s
        if pos[n] > last or (fading and t0 + n >= rel_end):
            voices.active[v] = False
        else:
            still += 1
    return still


def reflect(send_bus: np.ndarray, n: int, ring: np.ndarray, head: np.ndarray, tap_delay: np.ndarray,
            tap_gain: np.ndarray, bus: np.ndarray) -> None:
    """NumPy twin of `kernels.reflect`: the ring's history followed by this block, read at each tap's delay."""
    size = ring.shape[0]
    h = int(head[0])
    history = np.concatenate([np.roll(ring, -h), send_bus[:n]])  # oldest first; the block starts at index `size`
    for d, g in zip(tap_delay, tap_gain):
        delayed = history[size - int(d) : size - int(d) + n]
        bus[:, :n] += g[:, None] * delayed[None, :]
    idx = (h + np.arange(n)) % size
    ring[idx[-size:]] = send_bus[:n][-size:]
    send_bus[:n] = 0.0
    head[0] = (h + n) % size


def limit(bus: np.ndarray, n: int, master: float, threshold: float, release_coef: float, state: np.ndarray,
          out: np.ndarray) -> None:
    """NumPy twin of `kernels.limit`.

    With h = 1 - g the gain reduction, the kernel's recursion is h[k] = max(h[k-1] * a, u[k]), u[k] = 1 -
    threshold / peak[k] where the peak exceeds the threshold. Unrolled, h[k] = a^k * max(h[-1] * a, max over j <= k
    of u[j] * a^-j), a running maximum, taken here in the log domain so long blocks cannot overflow.
    """
    x = bus[:, :n].astype(np.float64) * master
    bus[:, :n] = 0.0
    if n == 0:
        return
    peak = np.abs(x).max(axis=0)
    with np.errstate(divide="ignore"):
        u = np.where(peak > threshold, 1.0 - threshold / np.maximum(peak, threshold), 0.0)
        k = np.arange(n, dtype=np.float64)
        if release_coef > 0.0:
            log_a = np.log(release_coef)
            carried = np.log(1.0 - state[0]) + log_a if state[0] < 1.0 else -np.inf
            running = np.maximum.accumulate(np.maximum(np.log(u) - k * log_a, carried))
            h = np.exp(running + k * log_a)
        else:  # no memory: the gain recovers fully after every sample
            h = u
    g = 1.0 - h
    top = np.float32(threshold)
    if float(top) > threshold:
        top = np.nextafter(top, np.float32(0.0))
    out[:] = np.clip((x * g[None, :]).astype(np.float32), -top, top).T
    state[0] = g[-1]
