"""RingWriter: a sound spliced into audio already written ahead of the card sounds as if the mixer had known of it in
advance (to float rounding: the kernels' blocks fall elsewhere), never touches what the card may be reading, and
the mixer's saved states restore exactly."""
import tracemalloc

import numpy as np
import pytest

from footfall.bank.sample_bank import Bank, BankEntry
from footfall.engine.mixer.mixer import Mixer, MixerParams
from footfall.engine.mixer.ring_writer import RingWriter
from footfall.sinks.output_ring import OutputRing

SR = 48000
TINY = 1e-6  # -120 dBFS
BLOCK = 256
# every stateful part on: pitch, gain and filter jitter (seeded), air absorption, reflections, the limiter
PARAMS = MixerParams(early_reflections=True, limiter_threshold_db=-12.0, seed=7)


def noise_bank(n=4, length=6000, onset=150):
    rng = np.random.default_rng(1)
    clips = [rng.uniform(-1, 1, length).astype(np.float32) for _ in range(n)]
    entries = [BankEntry(f"n{i}", "wood", "boot", 0.5, onset, "test") for i in range(n)]
    return Bank.from_clips(SR, clips, entries, name="noise")


def play(ring, blocks):
    """What a card's callbacks take out of `ring` in `blocks` blocks."""
    out = np.zeros((blocks * BLOCK, ring.audio.shape[1]), np.float32)
    for b in range(blocks):
        ring.play(out[b * BLOCK:(b + 1) * BLOCK])
    return out


def play_on(writer, ring, played, turns):
    """The card taking two blocks at a time and the mixer writing 8 blocks ahead again, `turns` times; what was
    played is appended to `played`, and all of it returned as one array."""
    for _ in range(turns):
        played.append(play(ring, 2))
        writer.fill(8 * BLOCK)
    return np.concatenate(played)


def writer_for(mixer, fill_blocks=8, splice_blocks=1):
    ring = OutputRing(64 * BLOCK, mixer.params.channels)
    return RingWriter(mixer, ring, BLOCK, fill_blocks + 2, splice_blocks * BLOCK), ring


def reference(bank, triggers, total):
    """The same triggers made on a mixer that renders straight through: each (at, made_at_position) is triggered
    once the straight render reaches made_at_position. Returns the audio and each voice's first frame."""
    mixer = Mixer(PARAMS, bank)
    out = np.zeros((total, 2), np.float32)
    pos, firsts = 0, []
    for at, made in sorted(triggers, key=lambda t: t[1]):
        mixer.render_into(out[pos:made])
        pos = made
        firsts.append(mixer.trigger(at, "wood", "boot", 0.3, 1.5, 0.8))
    mixer.render_into(out[pos:])
    return out, firsts


def test_a_late_step_is_spliced_one_block_ahead_of_the_card_and_sounds_as_if_known_in_advance():
    bank = noise_bank()
    mixer = Mixer(PARAMS, bank)
    writer, ring = writer_for(mixer)
    writer.fill(8 * BLOCK)
    played = [play(ring, 3)]
    writer.fill(8 * BLOCK)
    assert mixer.position == 11 * BLOCK
    late = 2 * BLOCK  # the contact is already past: the sound plays as soon as the card allows
    first = writer.trigger(lambda at: mixer.trigger(at, "wood", "boot", 0.3, 1.5, 0.8), late)
    assert first == ring.read + BLOCK == 4 * BLOCK  # not behind the 8 blocks written: one block ahead of the card
    assert mixer.position == 11 * BLOCK and ring.write == 11 * BLOCK and writer.spliced == 1
    got = play_on(writer, ring, played, 6)
    want, firsts = reference(bank, [(late, first)], got.shape[0])
    np.testing.assert_allclose(got, want, rtol=0, atol=TINY)
    assert firsts == [first]
    assert np.abs(got[first:first + 400]).max() > 0.01 and np.abs(got[:first]).max() == 0.0


def test_a_step_inside_the_written_audio_lands_exactly_where_asked():
    bank = noise_bank()
    mixer = Mixer(PARAMS, bank)
    writer, ring = writer_for(mixer)
    writer.fill(8 * BLOCK)
    played = [play(ring, 2)]
    at = 6 * BLOCK + 77  # ahead of the card, behind the mixer: onset exactly there
    first = writer.trigger(lambda a: mixer.trigger(a, "wood", "boot", 0.3, 1.5, 0.8), at)
    got = play_on(writer, ring, played, 8)
    want, firsts = reference(bank, [(at, 0)], got.shape[0])
    np.testing.assert_allclose(got, want, rtol=0, atol=TINY)
    assert firsts == [first] and abs(first - (at - 150)) <= 2  # the onset on `at` (pitch jitter moves the start)


def test_close_steps_keep_each_other_and_never_touch_what_the_card_may_be_reading():
    bank = noise_bank()
    mixer = Mixer(PARAMS, bank)
    writer, ring = writer_for(mixer, splice_blocks=2)
    writer.fill(8 * BLOCK)
    played = [play(ring, 1)]
    guarded = ring.audio[ring.read:ring.read + 2 * BLOCK].copy()
    at_a = 6 * BLOCK + 77  # rendered again from block 5
    first_a = writer.trigger(lambda a: mixer.trigger(a, "wood", "boot", 0.3, 1.5, 0.8), at_a)
    np.testing.assert_array_equal(ring.audio[ring.read:ring.read + 2 * BLOCK], guarded)
    played.append(play(ring, 1))
    first_b = writer.trigger(lambda a: mixer.trigger(a, "wood", "boot", 0.3, 1.5, 0.8), 0)
    assert mixer.rewind_floor == first_b == 5 * BLOCK  # the card would allow block 4, but that would lose step a
    got = play_on(writer, ring, played, 8)
    want, firsts = reference(bank, [(at_a, 0), (0, first_b)], got.shape[0])
    np.testing.assert_allclose(got, want, rtol=0, atol=TINY)
    assert firsts == [first_a, first_b]


def test_a_step_beyond_the_written_audio_is_an_ordinary_trigger():
    mixer = Mixer(PARAMS, noise_bank())
    writer, ring = writer_for(mixer)
    writer.fill(4 * BLOCK)
    first = writer.trigger(lambda a: mixer.trigger(a, "wood", "boot", 0.3, 1.5, 0.8), 20 * BLOCK)
    assert abs(first - (20 * BLOCK - 150)) <= 2 and writer.spliced == 0


def test_restore_returns_exactly_and_refuses_states_it_cannot_take_back():
    mixer = Mixer(PARAMS, noise_bank())
    mixer.trigger(100, "wood", "boot", 0.3, 1.5, 0.8)
    mixer.render(1000)
    state = mixer.new_state()
    with pytest.raises(ValueError, match="cannot restore"):
        mixer.restore(state)  # never saved
    mixer.save(state)
    once = mixer.render(3000)
    mixer.restore(state)
    np.testing.assert_array_equal(mixer.render(3000), once)
    mixer.trigger(5000, "wood", "boot", 0.3, 1.5, 0.8)  # a trigger since: the state would lose its voice
    with pytest.raises(ValueError, match="cannot restore"):
        mixer.restore(state)


def test_filling_allocates_nothing_once_warm():
    mixer = Mixer(PARAMS, noise_bank())
    writer, ring = writer_for(mixer)
    for k in range(16):
        mixer.trigger(k * 300, "wood", "boot", 0.3, 1.5, 0.8)
    out = np.zeros((BLOCK, 2), np.float32)
    writer.fill(8 * BLOCK)
    ring.play(out)
    writer.fill(8 * BLOCK)
    tracemalloc.start()
    for _ in range(20):
        ring.play(out)
        writer.fill(8 * BLOCK)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 2048
