import json
import wave

import numpy as np
import pytest

from footfall.bank.format import BankError, load_bank, read_wav, save_bank, write_wav
from footfall.bank.sample_bank import Bank, BankEntry


def small_bank() -> Bank:
    rng = np.random.default_rng(1)
    clips, entries = [], []
    for k, (surface, footwear, intensity) in enumerate([("wood", "boot", 1.0), ("wood", "boot", 0.3), ("snow", "sneaker", 0.6)]):
        clips.append((rng.standard_normal(1000 + 37 * k) * 0.1).astype(np.float32))
        entries.append(BankEntry(f"s{k}", surface, footwear, intensity, 10 + k, f"test:{k}", variation=k))
    return Bank.from_clips(48000, clips, entries, name="small")


def test_round_trip_is_exact(tmp_path):
    bank = small_bank()
    save_bank(bank, tmp_path / "b")
    back = load_bank(tmp_path / "b")
    assert back.entries == bank.entries
    assert back.sample_rate == 48000 and back.name == "small"
    np.testing.assert_array_equal(back.audio, bank.audio)
    np.testing.assert_array_equal(back.lengths, bank.lengths)
    np.testing.assert_array_equal(back.onsets, bank.onsets)
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert manifest["version"] == 1 and manifest["samples"][2]["surface"] == "snow"


def test_save_replaces_a_bank_but_not_other_folders(tmp_path):
    bank = small_bank()
    save_bank(bank, tmp_path / "b")
    save_bank(Bank.from_clips(48000, [bank.clip(0)], [bank.entries[0]], "one"), tmp_path / "b")
    assert len(load_bank(tmp_path / "b").entries) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # no temporary directories left behind
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(BankError, match="mine"):
        save_bank(bank, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"


@pytest.mark.parametrize("width", [2, 3])
def test_reads_pcm_wav_from_other_tools(tmp_path, width):
    x = np.sin(np.linspace(0, 20, 480)) * 0.5
    path = tmp_path / "pcm.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(width)
        w.setframerate(48000)
        scale = 2 ** (8 * width - 1)
        ints = np.round(np.repeat(x[:, None], 2, axis=1) * scale).astype(np.int32)
        raw = ints.astype("<i4").view(np.uint8).reshape(-1, 4)[:, :width].tobytes()
        w.writeframes(raw)
    audio, rate = read_wav(path)
    assert rate == 48000 and audio.shape == (480,)
    np.testing.assert_allclose(audio, x, atol=2.0 / 2 ** (8 * width - 1))


def test_float_wav_round_trip(tmp_path):
    x = np.random.default_rng(0).standard_normal(333).astype(np.float32)
    write_wav(tmp_path / "f.wav", x, 48000)
    y, rate = read_wav(tmp_path / "f.wav")
    assert rate == 48000
    np.testing.assert_array_equal(x, y)


def _broken(tmp_path, how):
    save_bank(small_bank(), tmp_path / "b")
    mpath = tmp_path / "b" / "manifest.json"
    manifest = json.loads(mpath.read_text())
    if how == "json":
        mpath.write_text("{ not json")
        return "manifest.json"
    if how == "version":
        manifest["version"] = 99
    elif how == "missing":
        (tmp_path / "b" / "audio" / "s1.wav").unlink()
        return "s1.wav"
    elif how == "garbage":
        (tmp_path / "b" / "audio" / "s2.wav").write_bytes(b"RIFF....junk")
        return "s2.wav"
    elif how == "onset":
        manifest["samples"][0]["onset"] = 10**9
    elif how == "rate":
        write_wav(tmp_path / "b" / "audio" / "s0.wav", np.zeros(1000, np.float32), 44100)
        return "s0.wav"
    mpath.write_text(json.dumps(manifest))
    return "manifest.json"


@pytest.mark.parametrize("how", ["json", "version", "missing", "garbage", "onset", "rate"])
def test_bad_banks_name_the_file(tmp_path, how):
    name = _broken(tmp_path, how)
    with pytest.raises(BankError) as err:
        load_bank(tmp_path / "b")
    message = str(err.value)
    assert name in message and "\n" not in message


def test_not_a_bank(tmp_path):
    with pytest.raises(BankError, match="no manifest"):
        load_bank(tmp_path)
