"""The mixer's numba kernels: resampling voice playback into a planar bus, and the peak limiter.

Each private `_..._kernel` is `njit(nogil=True, cache=True)` and writes into caller-owned arrays, so the audio
thread never allocates and other graph stages run while it mixes. The public functions of the same name without the
underscore check shapes and dtypes first (librosa's pattern); `Mixer` validates its own arrays once at construction
and then calls the kernels directly. `reference.py` holds the same math in plain NumPy, and the tests hold the two
against each other.

Voice playback math (shared with the reference, and with `Mixer.trigger`). Positions are fixed point, int64 in units
of 1/2**FRAC_BITS sample: exact integer arithmetic decides which frames a voice covers, so the reference agrees to
the bit, and integer phase is also what makes the resampling loop fast (no float-to-int conversions).
    P(t) = pos0 + (t - anchor) * step            position inside the sample at absolute frame t
    a voice sounds at t when 0 <= P(t) <= (length - 1) * ONE; between samples it interpolates linearly
    s(t) = a[i] + (a[i + 1] - a[i]) * (float32(P & FRAC_MASK) * float32(1 / ONE)),  i = P >> FRAC_BITS
           (just a[i] when P is exactly the last sample)
    a voice stolen at rel_start fades linearly: s *= (rel_start + rel_len - t) / rel_len, silent from rel_start + rel_len
    then a one-pole low-pass (air absorption and per-step colour): y = y_prev + lp_coef * (s - y_prev), in float32,
    its state carried across blocks in lp_state (0 when the voice starts); lp_coef >= 1 passes s untouched
    the bus gets y * gains[c]; the reflection send gets y * send (skipped when send is 0)
With step = ONE (no pitch change) and pos0 = onset * ONE, sample `onset` plays exactly at frame `anchor`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

NO_RELEASE = -1  # rel_start of a voice that is not fading out
FRAC_BITS = 32  # fixed-point fraction bits of playback positions
ONE = 1 << FRAC_BITS  # one sample, in fixed point
FRAC_MASK = ONE - 1
MAX_LENGTH = 1 << 24  # longest sample (frames, 5.8 min at 48 kHz): fixed-point positions stay below 2**56
MAX_STEP = 4 * ONE  # fastest playback rate (two octaves up)
NEAR = 1 << 28  # frames from the anchor within which position products (< 2**28 * MAX_STEP) cannot overflow


@dataclass(frozen=True, eq=False)
class VoiceState:
    """Every voice's state as parallel arrays (structure of arrays), preallocated once per mixer.

    active: whether the slot holds a voice (sounding, scheduled or fading out). bank_slot: which bank's audio the
    voice plays. offset, length: where its sample lies in that bank's flat audio array. anchor, pos0, step: its
    fixed-point playback position (see the module docstring). gains: float32 (capacity, channels), pan and level per channel.
    rel_start, rel_len: the fade-out of a stolen voice (rel_start NO_RELEASE when not fading).
    lp_coef, lp_state: float32 one-pole low-pass coefficient (>= 1: off) and its output so far. send: float32 level
    into the early-reflection bus.
    """

    active: np.ndarray
    bank_slot: np.ndarray
    offset: np.ndarray
    length: np.ndarray
    anchor: np.ndarray
    pos0: np.ndarray
    step: np.ndarray
    gains: np.ndarray
    rel_start: np.ndarray
    rel_len: np.ndarray
    lp_coef: np.ndarray
    lp_state: np.ndarray
    send: np.ndarray

    @classmethod
    def empty(cls, capacity: int, channels: int) -> "VoiceState":
        return cls(
            active=np.zeros(capacity, np.bool_),
            bank_slot=np.zeros(capacity, np.int64),
            offset=np.zeros(capacity, np.int64),
            length=np.ones(capacity, np.int64),
            anchor=np.zeros(capacity, np.int64),
            pos0=np.zeros(capacity, np.int64),
            step=np.full(capacity, ONE, np.int64),
            gains=np.zeros((capacity, channels), np.float32),
            rel_start=np.full(capacity, NO_RELEASE, np.int64),
            rel_len=np.ones(capacity, np.int64),
            lp_coef=np.ones(capacity, np.float32),
            lp_state=np.zeros(capacity, np.float32),
            send=np.zeros(capacity, np.float32),
        )

    @property
    def capacity(self) -> int:
        return self.active.shape[0]

    @property
    def channels(self) -> int:
        return self.gains.shape[1]

    def copy(self) -> "VoiceState":
        return VoiceState(*(getattr(self, f).copy() for f in self.__dataclass_fields__))

    def copy_into(self, other: "VoiceState") -> None:
        """Writes every array into `other`'s (same capacity and channels), allocating nothing."""
        for f in self.__dataclass_fields__:
            np.copyto(getattr(other, f), getattr(self, f))

    def validate(self) -> None:
        """Raise ValueError unless the arrays have the dtypes and shapes the kernels were compiled for."""
        cap = self.active.shape[0] if self.active.ndim == 1 else -1
        expect = {
            "active": np.bool_, "bank_slot": np.int64, "offset": np.int64, "length": np.int64,
            "anchor": np.int64, "pos0": np.int64, "step": np.int64, "rel_start": np.int64, "rel_len": np.int64,
        }
        for name, dtype in expect.items():
            arr = getattr(self, name)
            if arr.dtype != dtype or arr.shape != (cap,) or not arr.flags.c_contiguous:
                raise ValueError(f"voice state '{name}' must be contiguous {np.dtype(dtype).name} of shape ({cap},)")
        for name in ("lp_coef", "lp_state", "send"):
            arr = getattr(self, name)
            if arr.dtype != np.float32 or arr.shape != (cap,) or not arr.flags.c_contiguous:
                raise ValueError(f"voice state '{name}' must be contiguous float32 of shape ({cap},)")
        if np.any(self.active & ~((self.lp_coef > 0.0) & np.isfinite(self.lp_coef))):
            raise ValueError("active voices need a low-pass coefficient > 0")
        g = self.gains
        if g.dtype != np.float32 or g.ndim != 2 or g.shape[0] != cap or not g.flags.c_contiguous:
            raise ValueError(f"voice state 'gains' must be contiguous float32 of shape ({cap}, channels)")
        if np.any(self.active & ((self.step < 1) | (self.step > MAX_STEP))):
            raise ValueError("active voices need a playback step in 1 .. MAX_STEP")
        if np.any(self.active & ((self.length < 1) | (self.length > MAX_LENGTH))):
            raise ValueError(f"active voices need a sample of 1 .. {MAX_LENGTH} frames")
        if np.any(self.active & (self.rel_start != NO_RELEASE) & (self.rel_len < 1)):
            raise ValueError("fading voices need a release of at least one frame")


@numba.njit(nogil=True, cache=True)
def _voice_span(pos0, step, last, d0, n):
    """Frames k in [0, n) of a block where the voice sounds: [k0, k1), with k1 - kend <= 1 frame at exactly `last`.

    With m = d0 + k frames since the anchor, the position pos0 + m * step is >= 0 from m = -(pos0 // step) on,
    is >= last from m = -((pos0 - last) // step), and is > last from m = (last - pos0) // step + 1. Exact integers;
    the common cases (sounding through the whole block, or not at all) are settled without dividing.
    """
    if -NEAR <= d0 and d0 + n <= NEAR:  # products stay far inside int64
        first = pos0 + d0 * step
        final = first + (n - 1) * step
        if first >= 0 and final < last:
            return 0, n, n
        if final < 0:
            return n, n, n
        if first > last:
            return 0, 0, 0
    k0 = min(max(-(pos0 // step) - d0, 0), n)
    kend = min(max(-((pos0 - last) // step) - d0, k0), n)
    k1 = min(max((last - pos0) // step + 1 - d0, kend), n)
    return k0, kend, k1


@numba.njit(nogil=True, cache=True)
def _ended(pos0, step, last, m):
    """Whether the position m frames after the anchor lies past the last sample."""
    if -NEAR <= m <= NEAR:
        return pos0 + m * step > last
    return m > (last - pos0) // step


@numba.njit(nogil=True, cache=True)
def _one_pole(x, k0, k1, a, y):
    """x[k0:k1] through y[k] = y[k-1] + a * (x[k] - y[k-1]) in place, from y[k0-1] = y; returns the last y.

    The recursion is serial, and at a few cycles' latency per sample it would cost more than all the rest of a
    voice's work. Written as four interleaved chains, y[k] = b^4 y[k-4] + d[k] with b = 1 - a and
    d[k] = a (x[k] + b x[k-1] + b^2 x[k-2] + b^3 x[k-3]) (the first four frames from the plain recursion), the four
    chains run side by side: about 1.5x faster, equal to the plain recursion within float32 rounding.
    """
    b = np.float32(1.0) - a
    b2 = b * b
    b3 = b2 * b
    b4 = b2 * b2
    k = k0
    if k1 - k0 < 8:
        while k < k1:
            y = b * y + a * x[k]
            x[k] = y
            k += 1
        return y
    c0, c1, c2, c3 = a * x[k], a * x[k + 1], a * x[k + 2], a * x[k + 3]
    y0 = b * y + c0
    y1 = b * y0 + c1
    y2 = b * y1 + c2
    y3 = b * y2 + c3
    x[k], x[k + 1], x[k + 2], x[k + 3] = y0, y1, y2, y3
    p1, p2, p3 = c3, c2, c1  # a * x at k - 1, k - 2, k - 3
    k += 4
    while k + 4 <= k1:
        q0, q1, q2, q3 = a * x[k], a * x[k + 1], a * x[k + 2], a * x[k + 3]
        y0 = b4 * y0 + (q0 + b * p1 + b2 * p2 + b3 * p3)
        y1 = b4 * y1 + (q1 + b * q0 + b2 * p1 + b3 * p2)
        y2 = b4 * y2 + (q2 + b * q1 + b2 * q0 + b3 * p1)
        y3 = b4 * y3 + (q3 + b * q2 + b2 * q1 + b3 * q0)
        x[k], x[k + 1], x[k + 2], x[k + 3] = y0, y1, y2, y3
        p1, p2, p3 = q3, q2, q1
        k += 4
    y = y3
    while k < k1:
        y = b * y + a * x[k]
        x[k] = y
        k += 1
    return y


@numba.njit(nogil=True, cache=True)
def _mix_voices_kernel(audio, slot, active, bank_slot, offset, length, anchor, pos0, step, gains, rel_start, rel_len,
                       lp_coef, lp_state, send, t0, n, bus, scratch):
    """Add every active voice of bank `slot` into bus[:, :n] (frames t0 .. t0+n-1), and into the send, scratch[1, :n],
    at its send level; retire voices that ended.

    scratch[0] (float32, >= n frames) holds one voice's resampled, filtered block before it is panned into the bus.
    (One scratch array, not two: a call of 20 arguments or more makes CPython allocate its argument tuple.)
    Returns how many voices of `slot` are still active after this block.
    """
    voice_buf = scratch[0]
    send_bus = scratch[1]
    channels = bus.shape[0]
    scale = np.float32(1.0 / ONE)
    still = 0
    for v in range(active.shape[0]):
        if not active[v] or bank_slot[v] != slot:
            continue
        last = (length[v] - 1) << FRAC_BITS
        d0 = t0 - anchor[v]
        q0 = pos0[v]
        r = step[v]
        k0, kend, k1 = _voice_span(q0, r, last, d0, n)
        fading = rel_start[v] != NO_RELEASE
        rel_end = rel_start[v] + rel_len[v]
        if fading:
            k1 = min(k1, max(rel_end - t0, k0))
            kend = min(kend, k1)
        base = np.uint64(offset[v])
        # Unsigned indices throughout: numba then skips its negative-index wraparound, which blocks vectorising.
        for k in range(np.uint64(k0), np.uint64(kend)):
            p = q0 + (d0 + np.int64(k)) * r
            i = base + np.uint64(p >> FRAC_BITS)
            x0 = audio[i]
            voice_buf[k] = x0 + (audio[i + np.uint64(1)] - x0) * (np.float32(p & FRAC_MASK) * scale)
        for k in range(np.uint64(kend), np.uint64(k1)):  # exactly on the last sample: nothing after it to lerp to
            voice_buf[k] = audio[base + np.uint64(length[v] - 1)]
        if fading:
            inv = np.float32(1.0 / rel_len[v])
            for k in range(np.uint64(k0), np.uint64(k1)):
                voice_buf[k] *= np.float32(rel_end - (t0 + np.int64(k))) * inv
        if lp_coef[v] < np.float32(1.0) and k1 > k0:
            lp_state[v] = _one_pole(voice_buf, k0, k1, lp_coef[v], lp_state[v])
        for c in range(np.uint64(channels)):
            g = gains[v, c]
            for k in range(np.uint64(k0), np.uint64(k1)):
                bus[c, k] += voice_buf[k] * g
        sg = send[v]
        if sg != np.float32(0.0):
            for k in range(np.uint64(k0), np.uint64(k1)):
                send_bus[k] += voice_buf[k] * sg
        if _ended(q0, r, last, d0 + n) or (fading and t0 + n >= rel_end):
            active[v] = False
        else:
            still += 1
    return still


@numba.njit(nogil=True, cache=True)
def _reflect_kernel(send_bus, n, ring, head, tap_delay, tap_gain, bus):
    """Early reflections: bus[c, k] += sum over taps t of tap_gain[t, c] * send[k - tap_delay[t]].

    `ring` (float32, longer than the longest delay) keeps the send's recent past across blocks; head[0] is the ring
    index of the next frame. send_bus[:n] is consumed (left zeroed). Delays are at least one frame.
    """
    size = ring.shape[0]
    h = head[0]
    channels = bus.shape[0]
    for k in range(n):
        ring[h] = send_bus[k]
        send_bus[k] = 0.0
        for t in range(tap_delay.shape[0]):
            j = h - tap_delay[t]
            if j < 0:
                j += size
            x = ring[j]
            for c in range(channels):
                bus[c, k] += x * tap_gain[t, c]
        h += 1
        if h == size:
            h = 0
    head[0] = h


@numba.njit(nogil=True, cache=True)
def _pick_slot_kernel(active, length, anchor, pos0, step, gains, rel_start, rel_len, serial, position, max_voices,
                      fade):
    """A voice slot for a new trigger, stealing first when `max_voices` voices are sounding (not fading).

    The victim is the sounding voice with the least level * fraction of its sample still to play (the quietest or
    most nearly finished; the oldest by `serial` among equals). A victim that has not started yet is dropped; one
    that is playing fades out over `fade` frames from `position`, in a spare slot. When no slot is free (every spare
    slot holds a fade), the fade nearest its end is cut.
    """
    free = -1
    sounding = 0
    victim = -1
    best = np.inf
    victim_now = 0.0
    for v in range(active.shape[0]):
        if not active[v]:
            if free < 0:
                free = v
            continue
        if rel_start[v] != NO_RELEASE:
            continue
        sounding += 1
        now = pos0[v] / ONE + float(position - anchor[v]) * (step[v] / ONE)
        last = max(float(length[v] - 1), 1.0)
        remaining = min(max((last - now) / last, 0.0), 1.0)
        loud = 0.0
        for c in range(gains.shape[1]):
            loud = max(loud, abs(float(gains[v, c])))
        score = loud * remaining
        if victim < 0 or score < best or (score == best and serial[v] < serial[victim]):
            victim, best, victim_now = v, score, now
    if sounding >= max_voices and victim >= 0:
        if victim_now < 0.0:  # not started yet: nothing to fade
            active[victim] = False
            if free < 0 or victim < free:
                free = victim
        else:
            rel_start[victim] = position
            rel_len[victim] = fade
    if free >= 0:
        return free
    cut = -1
    for v in range(active.shape[0]):
        if active[v] and rel_start[v] != NO_RELEASE:
            if cut < 0 or rel_start[v] + rel_len[v] < rel_start[cut] + rel_len[cut]:
                cut = v
    return cut


@numba.njit(nogil=True, cache=True)
def _limit_kernel(bus, n, master, threshold, release_coef, state, out):
    """out[k, c] = bus[c, k] * master * g[k], g the limiter gain: instant attack, exponential release to 1.

    g[k] = min(threshold / peak[k], 1 - (1 - g[k-1]) * release_coef), peak[k] the largest |sample| over channels.
    state[0] carries g across blocks. A final clamp guards the float32 rounding of exactly-at-threshold samples.
    The bus is consumed: bus[:, :n] is left zeroed, ready for the next block.
    """
    channels = bus.shape[0]
    g = state[0]
    top = np.float32(threshold)
    if float(top) > threshold:
        top = np.nextafter(top, np.float32(0.0))
    for k in range(n):
        peak = 0.0
        for c in range(channels):
            x = abs(float(bus[c, k]) * master)
            if x > peak:
                peak = x
        g = 1.0 - (1.0 - g) * release_coef
        if peak * g > threshold:
            g = threshold / peak
        for c in range(channels):
            y = np.float32(float(bus[c, k]) * master * g)
            out[k, c] = min(max(y, -top), top)
            bus[c, k] = 0.0
    state[0] = g


def _check_bus(bus: np.ndarray, n: int, channels: int) -> None:
    if bus.dtype != np.float32 or bus.ndim != 2 or bus.shape[0] != channels or not bus.flags.c_contiguous:
        raise ValueError(f"bus must be contiguous float32 of shape ({channels}, frames)")
    if not 0 <= n <= bus.shape[1]:
        raise ValueError(f"n={n} must lie in 0..{bus.shape[1]} (the bus length)")


def mix_voices(audio: np.ndarray, slot: int, voices: VoiceState, t0: int, n: int, bus: np.ndarray,
               send_bus: np.ndarray | None = None) -> int:
    """Add the voices of bank `slot` that sound in frames t0 .. t0+n-1 into `bus` (float32, (channels, >= n)) and,
    at each voice's send level, into `send_bus` (float32, >= n frames; none: the send is dropped).

    `audio` is that bank's flat float32 sample array. Voices that end inside the block are marked inactive. Returns
    how many voices of `slot` remain active. (The checks and the scratch allocated here are what `Mixer` does once.)
    """
    voices.validate()
    if voices.channels not in (1, 2):
        raise ValueError("the mixer kernels support 1 or 2 channels")
    if audio.dtype != np.float32 or audio.ndim != 1 or not audio.flags.c_contiguous:
        raise ValueError("audio must be contiguous 1-D float32")
    _check_bus(bus, n, voices.channels)
    mine = voices.active & (voices.bank_slot == slot)
    if np.any(voices.offset[mine] < 0) or np.any(voices.offset[mine] + voices.length[mine] > audio.shape[0]):
        raise ValueError("a voice's sample lies outside the audio array")
    if send_bus is None:
        send_bus = np.zeros(n, np.float32)
    if send_bus.dtype != np.float32 or send_bus.ndim != 1 or send_bus.shape[0] < n:
        raise ValueError(f"send_bus must be 1-D float32 of at least {n} frames")
    scratch = np.zeros((2, n), np.float32)
    scratch[1] = send_bus[:n]
    still = int(_mix_voices_kernel(audio, int(slot), voices.active, voices.bank_slot, voices.offset, voices.length,
                                   voices.anchor, voices.pos0, voices.step, voices.gains, voices.rel_start,
                                   voices.rel_len, voices.lp_coef, voices.lp_state, voices.send, int(t0), int(n), bus,
                                   scratch))
    send_bus[:n] = scratch[1]
    return still


def limit(bus: np.ndarray, n: int, master: float, threshold: float, release_coef: float, state: np.ndarray,
          out: np.ndarray) -> None:
    """Scale bus[:, :n] by `master`, peak-limit it to `threshold` (linear), and write it interleaved into `out`.

    `state` is a float64 array of one element, the limiter gain carried between blocks (start it at 1.0).
    `out` is float32 (n, channels); no sample of it exceeds `threshold` in magnitude. bus[:, :n] is left zeroed.
    """
    channels = bus.shape[0] if bus.ndim == 2 else 0
    _check_bus(bus, n, channels)
    if out.dtype != np.float32 or out.shape != (n, channels):
        raise ValueError(f"out must be float32 of shape ({n}, {channels})")
    if state.dtype != np.float64 or state.shape != (1,):
        raise ValueError("limiter state must be a float64 array of one element")
    if not (0.0 < threshold and np.isfinite(threshold) and np.isfinite(master) and 0.0 <= release_coef < 1.0):
        raise ValueError("need threshold > 0, finite master and 0 <= release_coef < 1")
    _limit_kernel(bus, int(n), float(master), float(threshold), float(release_coef), state, out)


def reflect(send_bus: np.ndarray, n: int, ring: np.ndarray, head: np.ndarray, tap_delay: np.ndarray,
            tap_gain: np.ndarray, bus: np.ndarray) -> None:
    """Add the early reflections of send_bus[:n] into bus[:, :n] (see `_reflect_kernel`), consuming the send."""
    channels = bus.shape[0] if bus.ndim == 2 else 0
    _check_bus(bus, n, channels)
    if send_bus.dtype != np.float32 or send_bus.ndim != 1 or send_bus.shape[0] < n:
        raise ValueError(f"send_bus must be 1-D float32 of at least {n} frames")
    if tap_delay.dtype != np.int64 or tap_delay.ndim != 1:
        raise ValueError("tap_delay must be 1-D int64")
    if tap_gain.dtype != np.float32 or tap_gain.shape != (tap_delay.shape[0], channels):
        raise ValueError(f"tap_gain must be float32 of shape ({tap_delay.shape[0]}, {channels})")
    if ring.dtype != np.float32 or ring.ndim != 1 or (tap_delay.size and int(tap_delay.max()) >= ring.shape[0]):
        raise ValueError("ring must be 1-D float32, longer than the longest delay")
    if tap_delay.size and int(tap_delay.min()) < 1:
        raise ValueError("reflection delays must be at least one frame")
    if head.dtype != np.int64 or head.shape != (1,) or not 0 <= int(head[0]) < ring.shape[0]:
        raise ValueError("head must be an int64 array of one index into the ring")
    _reflect_kernel(send_bus, int(n), ring, head, tap_delay, tap_gain, bus)
