"""The footstep mixer: schedules one voice per step on an absolute sample clock and renders limited stereo blocks.

Why it is built this way: the audio thread must never allocate or wait on Python objects, so every voice lives in
preallocated arrays (`kernels.VoiceState`) and a block is two numba calls (mix, limit) that release the GIL.
Triggers are sample-accurate: the chosen sample's onset lands on the requested absolute frame, wherever that falls
inside a block. Swapping banks never cuts a sound: voices keep playing from the bank they started with until they
end, and that bank is dropped then. A render can be taken back to a saved point (`save`/`restore`) and rendered again
with a new voice in it: live, that is how a step's sound goes into audio already written ahead of the sound card.
"""
from __future__ import annotations

import math
import operator
from dataclasses import dataclass, fields
from typing import Literal

import numpy as np

from footfall.bank.sample_bank import Bank, BankEntry
from footfall.engine.mixer import reference
from footfall.engine.mixer.kernels import (
    MAX_LENGTH,
    NO_RELEASE,
    ONE,
    VoiceState,
    _limit_kernel,
    _mix_voices_kernel,
    _pick_slot_kernel,
    _reflect_kernel,
)

STEAL_FADE_MS = 5.0  # a stolen voice fades out over this long instead of being cut (a cut clicks)
INTENSITY_WINDOW = 0.25  # entries this much farther from the wanted intensity than the nearest one are candidates too
RECENT_PER_PERSON = 2  # a person's next step avoids the samples of their last this many steps (while others remain)
REFLECTION_TAPS = (  # early reflections: path delay as a multiple of room_size_m / c, gain, and pan (0 left, 1 right)
    (0.31, 0.80, 0.15), (0.47, 0.70, 0.85), (0.66, 0.55, 0.35), (0.83, 0.50, 0.70), (1.07, 0.38, 0.05),
    (1.29, 0.33, 0.95), (1.58, 0.25, 0.55), (1.91, 0.20, 0.25),
)
SPEED_OF_SOUND_M_S = 343.0
BUS_FRAMES = 4096  # render_into mixes longer requests in chunks of this many frames


@dataclass(frozen=True)
class MixerParams:
    """How steps become sound: voice pool, per-trigger variation, placement, level and the output limiter."""

    sample_rate: int = 48000
    channels: int = 2  # stereo out
    max_voices: int = 256
    gain_jitter_db: float = 1.5  # per-trigger random gain, +/- dB
    pitch_jitter_cents: float = 30.0  # per-trigger random pitch, +/- cents (resampling playback rate)
    pan_width: float = 0.8  # 0 = mono, 1 = x=0 hard left / x=1 hard right
    reference_depth: float = 1.0  # depth at which attenuation is 0 dB
    min_depth: float = 0.5  # clamp: nearer than this is as loud as this
    max_attenuation_db: float = 24.0
    intensity_range_db: float = 12.0  # intensity 0..1 maps to -range..0 dB
    filter_jitter_octaves: float = 0.3  # per-trigger random shift of the voice's low-pass cutoff, +/- octaves
    air_cutoff_hz: float = 20000.0  # voice low-pass cutoff at reference_depth; 0 = no low-pass at all
    air_exponent: float = 1.0  # the cutoff falls as (reference_depth / depth) ** air_exponent
    early_reflections: bool = False  # short early reflections of a room (indoor scenes)
    reflection_level_db: float = -8.0  # reflections of a voice at reference depth, re its direct sound
    reflection_distance_db: float = 0.5  # reflections fall this fraction of the direct sound's dB with distance
    room_size_m: float = 6.0  # sets the reflections' delays (about 5 to 33 ms for 6 m)
    master_gain_db: float = -3.0
    limiter_threshold_db: float = -1.0
    limiter_release_ms: float = 80.0
    seed: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "early_reflections":
                if not isinstance(value, bool):
                    raise ValueError(f"mixer early_reflections must be true or false, got {value!r}")
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"mixer {f.name} must be a finite number, got {value!r}")
        for name in ("sample_rate", "channels", "max_voices", "seed"):
            if not isinstance(getattr(self, name), int):
                raise ValueError(f"mixer {name} must be an integer, got {getattr(self, name)!r}")
        checks = (
            (8000 <= self.sample_rate <= 384000, "sample_rate must lie in 8000..384000 Hz"),
            (self.channels in (1, 2), "channels must be 1 (mono) or 2 (stereo)"),
            (1 <= self.max_voices <= 4096, "max_voices must lie in 1..4096"),
            (0.0 <= self.gain_jitter_db <= 12.0, "gain_jitter_db must lie in 0..12 dB"),
            (0.0 <= self.pitch_jitter_cents <= 1200.0, "pitch_jitter_cents must lie in 0..1200 cents"),
            (0.0 <= self.pan_width <= 1.0, "pan_width must lie in 0..1"),
            (self.reference_depth > 0.0, "reference_depth must be > 0"),
            (self.min_depth > 0.0, "min_depth must be > 0"),
            (self.max_attenuation_db >= 0.0, "max_attenuation_db must be >= 0"),
            (self.intensity_range_db >= 0.0, "intensity_range_db must be >= 0"),
            (0.0 <= self.filter_jitter_octaves <= 3.0, "filter_jitter_octaves must lie in 0..3"),
            (self.air_cutoff_hz == 0.0 or 200.0 <= self.air_cutoff_hz <= 100000.0,
             "air_cutoff_hz must be 0 (off) or lie in 200..100000 Hz"),
            (0.0 <= self.air_exponent <= 4.0, "air_exponent must lie in 0..4"),
            (-60.0 <= self.reflection_level_db <= 6.0, "reflection_level_db must lie in -60..6 dB"),
            (0.0 <= self.reflection_distance_db <= 1.0, "reflection_distance_db must lie in 0..1"),
            (0.5 <= self.room_size_m <= 50.0, "room_size_m must lie in 0.5..50 m"),
            (-120.0 <= self.master_gain_db <= 24.0, "master_gain_db must lie in -120..24 dB"),
            (-60.0 <= self.limiter_threshold_db <= 0.0, "limiter_threshold_db must lie in -60..0 dBFS"),
            (0.1 <= self.limiter_release_ms <= 10000.0, "limiter_release_ms must lie in 0.1..10000 ms"),
            (self.seed >= 0, "seed must be >= 0"),
        )
        for ok, message in checks:
            if not ok:
                raise ValueError(f"mixer {message}")


def _db(db: float) -> float:
    return 10.0 ** (db / 20.0)


def _check_bank(bank: Bank, sample_rate: int) -> None:
    if not isinstance(bank, Bank):
        raise ValueError(f"expected a Bank, got {type(bank).__name__}")
    if bank.sample_rate != sample_rate:
        raise ValueError(f"bank '{bank.name}' is at {bank.sample_rate} Hz but the mixer runs at {sample_rate} Hz")
    if not bank.entries:
        raise ValueError(f"bank '{bank.name}' has no samples")
    if int(bank.lengths.min()) < 1 or int(bank.lengths.max()) > MAX_LENGTH or int(bank.offsets.min()) < 0:
        raise ValueError(f"bank '{bank.name}' has a sample that is empty, longer than {MAX_LENGTH} frames, or misplaced")


class _LoadedBank:
    """One bank as the mixer plays it: contiguous audio, and each person's recent samples."""

    def __init__(self, bank: Bank) -> None:
        self.bank = bank
        self.audio = np.ascontiguousarray(bank.audio, dtype=np.float32)
        self.intensities = np.array([e.intensity for e in bank.entries], dtype=np.float64)
        self._gaits = np.array([e.gait for e in bank.entries])
        self._candidates: dict[tuple[str, str, str], np.ndarray] = {}
        self._recent: dict[int, list[int]] = {}

    def choose(self, surface: str, footwear: str, intensity: float, gait: str, person: int,
               rng: np.random.Generator) -> int:
        """A random entry among those for this surface/footwear (samples made for `gait` first) near the wanted
        intensity, never one of the person's last RECENT_PER_PERSON samples while another remains."""
        key = (surface, footwear, gait)
        cands = self._candidates.get(key)
        if cands is None:
            cands = self.bank.select(surface, footwear)
            fitting = cands[np.isin(self._gaits[cands], (gait, "any"))]
            cands = self._candidates[key] = fitting if fitting.size else cands
        dist = np.abs(self.intensities[cands] - intensity)
        near = cands[dist <= dist.min() + INTENSITY_WINDOW]
        recent = self._recent.setdefault(person, [])
        for keep in range(min(len(recent), RECENT_PER_PERSON), -1, -1):  # avoid as many recent ones as possible
            fresh = near[~np.isin(near, recent[len(recent) - keep :])] if keep else near
            if fresh.size:
                break
        choice = int(fresh[rng.integers(fresh.size)])
        recent.append(choice)
        del recent[:-RECENT_PER_PERSON]
        return choice


@dataclass(frozen=True, eq=False)
class _Reflections:
    """The early-reflection taps of a room and their delay line (preallocated; the kernel updates ring and head)."""

    delays: np.ndarray  # int64 frames
    gains: np.ndarray  # float32 (taps, channels)
    ring: np.ndarray
    head: np.ndarray

    @classmethod
    def for_room(cls, p: MixerParams) -> "_Reflections":
        base = p.room_size_m / SPEED_OF_SOUND_M_S * p.sample_rate
        delays = np.array([max(1, round(r * base)) for r, _, _ in REFLECTION_TAPS], np.int64)
        gains = np.zeros((len(REFLECTION_TAPS), p.channels), np.float32)
        for t, (_, g, pan) in enumerate(REFLECTION_TAPS):
            theta = pan * math.pi / 2.0
            gains[t] = (g * math.cos(theta), g * math.sin(theta)) if p.channels == 2 else g
        return cls(delays, gains, np.zeros(int(delays.max()) + 1, np.float32), np.zeros(1, np.int64))


@dataclass(frozen=True, eq=False)
class MixerState:
    """A saved point of a mixer's render (`Mixer.new_state`, `save`, `restore`): every voice, the limiter's gain, the
    reflections' delay line and the sample clock, in arrays allocated once."""

    voices: VoiceState
    serial: np.ndarray
    limiter_gain: np.ndarray
    reflection_ring: np.ndarray
    reflection_head: np.ndarray
    position: np.ndarray  # int64 (1,): the frame the saved render continues from; -1 until saved

    @property
    def saved_at(self) -> int:
        return int(self.position[0])


def _finite(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"trigger {name} must be finite, got {value!r}")
    return value


class Mixer:
    """Plays footstep samples from a Bank at exact sample frames, panned, attenuated, varied and limited.

    engine="numpy" runs the same mixing through the plain NumPy reference (for the bench and for checks).
    """

    def __init__(self, params: MixerParams, bank: Bank, *, engine: Literal["numba", "numpy"] = "numba") -> None:
        if engine not in ("numba", "numpy"):
            raise ValueError(f"mixer engine must be 'numba' or 'numpy', got {engine!r}")
        _check_bank(bank, params.sample_rate)
        self.params = params
        self._engine = engine
        self._capacity = params.max_voices + max(8, params.max_voices // 4)  # spare slots for stolen voices' fades
        self._voices = VoiceState.empty(self._capacity, params.channels)
        self._voices.validate()
        self._serial = np.zeros(self._capacity, np.int64)
        self._triggers = 0
        self._bus = np.zeros((params.channels, BUS_FRAMES), np.float32)
        self._scratch = np.zeros((2, BUS_FRAMES), np.float32)  # one voice's block; the send to the reflections
        self._send = self._scratch[1]
        self._reflections = _Reflections.for_room(params)
        self._limiter_gain = np.ones(1, np.float64)
        self._master = _db(params.master_gain_db)
        self._threshold = _db(params.limiter_threshold_db)
        self._release_coef = math.exp(-1.0 / (params.limiter_release_ms * 1e-3 * params.sample_rate))
        self._steal_fade = max(1, round(STEAL_FADE_MS * 1e-3 * params.sample_rate))
        self._rng = np.random.default_rng(params.seed)
        self._position = 0
        self._floor = 0  # no saved state before this frame may be restored (see rewind_floor)
        self._banks: dict[int, _LoadedBank] = {}
        self._live: tuple[tuple[int, np.ndarray], ...] = ()
        self._current = -1
        self._newest = -1
        self._track_slots: dict[int, int] = {}  # characters with a bank of their own
        self._used: frozenset[int] = frozenset()  # the slots new triggers can play from
        self.set_bank(bank)

    @property
    def position(self) -> int:
        """Absolute sample frame of the next sample render() produces."""
        return self._position

    @property
    def rewind_floor(self) -> int:
        """The earliest frame a saved state can be restored at: the position of the latest trigger, bank change or
        bank release (a state from before one of those would lose the voice, or play from a bank let go)."""
        return self._floor

    def new_state(self) -> MixerState:
        """An unsaved state of this mixer's shape, for `save`."""
        r = self._reflections
        return MixerState(VoiceState.empty(self._capacity, self.params.channels), np.zeros_like(self._serial),
                          np.ones(1, np.float64), np.zeros_like(r.ring), np.zeros_like(r.head),
                          np.full(1, -1, np.int64))

    def _state_arrays(self, state: MixerState) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
        """(the mixer's array, the state's) for everything a state holds besides the voices and the clock."""
        r = self._reflections
        return ((self._serial, state.serial), (self._limiter_gain, state.limiter_gain),
                (r.ring, state.reflection_ring), (r.head, state.reflection_head))

    def save(self, state: MixerState) -> None:
        """Records where the render is into `state` (from `new_state`), allocating no arrays."""
        self._voices.copy_into(state.voices)
        for mine, saved in self._state_arrays(state):
            np.copyto(saved, mine)
        state.position[0] = self._position

    def restore(self, state: MixerState) -> None:
        """Takes the render back to `state`: the frames from its position on render again, the same as before plus
        whatever is triggered now. Raises ValueError for a state never saved, ahead of the render or before
        `rewind_floor`."""
        at = state.saved_at
        if not self._floor <= at <= self._position:
            raise ValueError(f"cannot restore the mixer to frame {at}: only frames {self._floor}..{self._position} "
                             "can be rendered again")
        state.voices.copy_into(self._voices)
        for mine, saved in self._state_arrays(state):
            np.copyto(mine, saved)
        self._position = at

    @property
    def active_voices(self) -> int:
        """Voices sounding or scheduled (a stolen voice's few-millisecond fade-out is not counted)."""
        v = self._voices
        return int(np.count_nonzero(v.active & (v.rel_start == NO_RELEASE)))

    @property
    def bank(self) -> Bank:
        """The bank new triggers play from (those of a character with a bank of its own: `bank_of`)."""
        return self._banks[self._current].bank

    def bank_of(self, track_id: int) -> Bank:
        """The bank character `track_id`'s new triggers play from."""
        return self._banks[self._track_slots.get(track_id, self._current)].bank

    def set_bank(self, bank: Bank, track_id: int | None = None) -> None:
        """Later triggers use `bank`: everyone's (which ends every character's own), or character `track_id`'s only.
        Voices already sounding finish from the bank they started with; a bank nobody uses any more is let go once
        its last voice has."""
        _check_bank(bank, self.params.sample_rate)
        self._newest += 1
        self._banks[self._newest] = _LoadedBank(bank)
        if track_id is None:
            self._current = self._newest
            self._track_slots.clear()
        else:
            self._track_slots[operator.index(track_id)] = self._newest
        self._used = frozenset((self._current, *self._track_slots.values()))
        self._floor = self._position
        self._release_unused()

    def _release_unused(self) -> None:
        """Lets go of every bank no trigger can use and no voice still plays from."""
        v = self._voices
        for slot in [s for s in self._banks if s not in self._used]:
            if not np.any(v.active & (v.bank_slot == slot)):
                del self._banks[slot]
        self._live = tuple((slot, lb.audio) for slot, lb in self._banks.items())

    def trigger(self, at_sample: int, surface: str, footwear: str, x: float, depth: float, intensity: float, *,
                track_id: int = -1, gait: str = "walk", gain_db: float = 0.0) -> int:
        """Schedule one footstep so that the chosen sample's onset lands exactly on absolute frame `at_sample`.

        The sample is drawn among bank.select(surface, footwear), preferring entries made for `gait` ("walk" or
        "run") and whose intensity is near `intensity`, and never one of the last samples person `track_id` played
        while another is left. Gain, pitch and the low-pass cutoff get seeded random jitter; x (0 = left edge,
        1 = right edge) sets the constant-power pan; depth (1 = reference distance, larger = farther) sets
        inverse-distance attenuation and the air-absorption low-pass, and the early reflections' share when they are
        on; intensity (0..1) sets the level and `gain_db` (a character's level) is added to it. If the sample would
        have to start before `position` (a late event), it starts at `position` and plays whole. Steals the
        quietest, most nearly finished voice (the oldest among equals) when the pool is full. Returns the absolute
        frame at which the voice's first sample plays.
        """
        at = operator.index(at_sample)
        track_id = operator.index(track_id)
        x = min(max(_finite("x", x), 0.0), 1.0)
        depth = _finite("depth", depth)
        intensity = min(max(_finite("intensity", intensity), 0.0), 1.0)
        p = self.params
        bank_slot = self._track_slots.get(track_id, self._current)
        loaded = self._banks[bank_slot]
        i = loaded.choose(surface, footwear, intensity, gait, track_id, self._rng)
        gain_jitter, pitch_jitter, filter_jitter = self._rng.uniform(-1.0, 1.0, 3)
        step = round(2.0 ** (pitch_jitter * p.pitch_jitter_cents / 1200.0) * ONE)  # fixed-point playback rate
        length = int(loaded.bank.lengths[i])
        onset = min(max(int(loaded.bank.onsets[i]), 0), length - 1)

        anchor, pos0 = at, onset * ONE  # the onset plays exactly at `at`
        first = anchor - pos0 // step  # the first frame whose position is >= 0
        if first < self._position:
            anchor, pos0, first = self._position, 0, self._position

        distance = max(depth, p.min_depth) / p.reference_depth
        distance_db = max(-20.0 * math.log10(distance), -p.max_attenuation_db)
        source_db = (gain_jitter * p.gain_jitter_db - p.intensity_range_db * (1.0 - intensity)
                     + _finite("gain_db", gain_db))
        level = _db(source_db + distance_db)

        v = self._voices
        slot = self._allocate()
        v.active[slot] = True
        v.bank_slot[slot] = bank_slot
        v.offset[slot] = int(loaded.bank.offsets[i])
        v.length[slot] = length
        v.anchor[slot] = anchor
        v.pos0[slot] = pos0
        v.step[slot] = step
        v.rel_start[slot] = NO_RELEASE
        v.rel_len[slot] = 1
        v.lp_coef[slot] = self._lowpass_coef(distance, filter_jitter)
        v.lp_state[slot] = 0.0
        v.send[slot] = (_db(source_db + p.reflection_level_db + p.reflection_distance_db * distance_db)
                        if p.early_reflections else 0.0)
        if p.channels == 2:
            theta = (0.5 + (x - 0.5) * p.pan_width) * (math.pi / 2.0)
            v.gains[slot] = (level * math.cos(theta), level * math.sin(theta))
        else:
            v.gains[slot] = level
        self._triggers += 1
        self._serial[slot] = self._triggers
        self._floor = self._position
        return first

    def _lowpass_coef(self, distance: float, jitter: float) -> float:
        """The one-pole coefficient for a voice at `distance` (re reference_depth): cutoff air_cutoff_hz there,
        falling as distance ** -air_exponent, shifted by jitter * filter_jitter_octaves; 1.0 (off) without air."""
        p = self.params
        if p.air_cutoff_hz == 0.0:
            return 1.0
        cutoff = p.air_cutoff_hz * distance ** -p.air_exponent * 2.0 ** (jitter * p.filter_jitter_octaves)
        return 1.0 - math.exp(-2.0 * math.pi * cutoff / p.sample_rate)

    def _allocate(self) -> int:
        v = self._voices
        return int(_pick_slot_kernel(v.active, v.length, v.anchor, v.pos0, v.step, v.gains, v.rel_start, v.rel_len,
                                     self._serial, self._position, self.params.max_voices, self._steal_fade))

    def render(self, n: int) -> np.ndarray:
        """The next n frames as float32 (n, channels); advances position by n. Never exceeds the limiter threshold."""
        n = operator.index(n)
        if n < 0:
            raise ValueError(f"cannot render a negative number of frames ({n})")
        out = np.empty((n, self.params.channels), np.float32)
        self.render_into(out)
        return out

    def render_into(self, out: np.ndarray) -> None:
        """Same as render(), into a caller-owned float32 (n, channels) array, allocating nothing."""
        channels = self.params.channels
        if not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.ndim != 2 or out.shape[1] != channels:
            raise ValueError(f"render_into needs a float32 array of shape (n, {channels})")
        if not out.flags.writeable:
            raise ValueError("render_into needs a writeable array")
        n = out.shape[0]
        done = 0
        while done < n:
            m = min(BUS_FRAMES, n - done)
            self._mix_block(m)
            target = out if m == n else out[done : done + m]
            if self._engine == "numba":
                _limit_kernel(self._bus, m, self._master, self._threshold, self._release_coef, self._limiter_gain,
                              target)
            else:
                reference.limit(self._bus, m, self._master, self._threshold, self._release_coef, self._limiter_gain,
                                target)
            self._position += m
            done += m

    def _mix_block(self, m: int) -> None:
        v = self._voices
        ended = False
        for slot, audio in self._live:
            if self._engine == "numba":
                still = _mix_voices_kernel(audio, slot, v.active, v.bank_slot, v.offset, v.length, v.anchor, v.pos0,
                                           v.step, v.gains, v.rel_start, v.rel_len, v.lp_coef, v.lp_state, v.send,
                                           self._position, m, self._bus, self._scratch)
            else:
                still = reference.mix_voices(audio, slot, v, self._position, m, self._bus, self._send)
            ended |= still == 0 and slot not in self._used
        if self.params.early_reflections:
            r = self._reflections
            if self._engine == "numba":
                _reflect_kernel(self._send, m, r.ring, r.head, r.delays, r.gains, self._bus)
            else:
                reference.reflect(self._send, m, r.ring, r.head, r.delays, r.gains, self._bus)
        if ended:  # an old bank's last voice finished: let the bank go (rare, so the allocation here is fine)
            self._release_unused()
            self._floor = self._position + m  # a state saved before this block holds a voice of the bank let go


def warm_up(params: MixerParams) -> None:
    """Loads the numba kernels (from numba's on-disk cache, or compiles them) by playing one step on a throwaway mixer
    and bank, so that a render's first block does not pay for it mid-stream: about 0.4 s of CPU, which a render
    spends on a thread while its pose workers start."""
    entry = BankEntry(id="warm-up", surface="warm-up", footwear="warm-up", intensity=0.5, onset=0, provenance="")
    bank = Bank.from_clips(params.sample_rate, [np.full(64, 0.1, np.float32)], [entry], name="warm-up")
    mixer = Mixer(params, bank)
    mixer.trigger(0, entry.surface, entry.footwear, 0.5, 1.0, 0.5)
    mixer.render(128)
