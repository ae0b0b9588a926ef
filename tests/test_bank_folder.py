import wave

import numpy as np
import pytest

from footfall.bank.compare import active_rms_dbfs
from footfall.bank.folder import FolderParams, find_onset, load_folder
from footfall.bank.format import BankError, save_bank
from footfall.bank.open import open_bank

SR = 48000


def recording(lead_s: float, level: float, seed: int, rate: int = SR) -> tuple[np.ndarray, int]:
    """Quiet room noise, then a step (decaying noise burst) starting exactly at the returned sample."""
    rng = np.random.default_rng(seed)
    onset = int(lead_s * rate)
    n = onset + int(0.4 * rate)
    x = rng.standard_normal(n) * 1e-4
    t = np.arange(n - onset) / rate
    x[onset:] += level * rng.standard_normal(n - onset) * np.exp(-t / 0.04)
    return x, onset


def write_pcm16(path, x: np.ndarray, rate: int = SR) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.round(np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())


def test_find_onset_within_a_millisecond():
    for seed, lead in enumerate((0.05, 0.3, 1.2)):
        x, onset = recording(lead, 0.3, seed)
        assert abs(find_onset(x, SR) - onset) <= SR // 1000


def test_folder_is_trimmed_faded_and_normalised(tmp_path):
    leads = {}
    for k, (lead, level) in enumerate([(0.25, 0.5), (0.6, 0.05), (0.1, 0.01)]):
        x, _ = recording(lead, level, 10 + k)
        write_pcm16(tmp_path / "Gravel" / "boot" / f"take{k}.wav", x)
        leads[f"take{k}.wav"] = lead
    x, _ = recording(0.2, 0.2, 20, rate=44100)
    write_pcm16(tmp_path / "wood" / "sneaker" / "0.3" / "soft.wav", x, rate=44100)
    (tmp_path / "wood" / "sneaker" / "notes.txt").write_text("ignored")

    params = FolderParams(target_rms_dbfs=-22.0, pre_onset_ms=5.0)
    bank = load_folder(tmp_path, params)
    assert bank.sample_rate == SR and len(bank.entries) == 4
    assert bank.surfaces == ("gravel", "wood") and bank.footwears == ("boot", "sneaker")
    soft = [e for e in bank.entries if e.surface == "wood"][0]
    assert soft.intensity == 0.3 and soft.provenance == "recording:wood/sneaker/0.3/soft.wav"
    pre = int(0.005 * SR)
    for i, e in enumerate(bank.entries):
        clip = bank.clip(i).astype(np.float64)
        assert abs(e.onset - pre) <= SR // 1000, e  # trimmed to 5 ms before the step, found within 1 ms
        assert abs(active_rms_dbfs(clip, SR) - (-22.0)) < 0.5  # loudness-normalised
        assert abs(clip[0]) < 1e-3 and abs(clip[-1]) < 1e-4  # faded in and out
        assert clip.size <= int(params.max_length_s * SR)
    assert sorted(e.variation for e in bank.entries if e.surface == "gravel") == [0, 1, 2]


def test_bank_directory_and_folder_both_open(tmp_path):
    x, _ = recording(0.1, 0.3, 1)
    write_pcm16(tmp_path / "rec" / "snow" / "barefoot" / "a.wav", x)
    bank = open_bank(tmp_path / "rec")
    save_bank(bank, tmp_path / "bank")
    again = open_bank(str(tmp_path / "bank"))
    np.testing.assert_array_equal(again.audio, bank.audio)
    assert again.entries == bank.entries


@pytest.mark.parametrize("kind", ["garbage", "silent", "empty"])
def test_bad_recordings_name_the_file(tmp_path, kind):
    path = tmp_path / "dirt" / "boot" / f"bad_{kind}.wav"
    path.parent.mkdir(parents=True)
    if kind == "garbage":
        path.write_bytes(b"this is not audio at all" * 10)
    elif kind == "silent":
        write_pcm16(path, np.zeros(4800))
    else:
        write_pcm16(path, np.zeros(0))
    with pytest.raises(BankError) as err:
        load_folder(tmp_path)
    assert f"bad_{kind}.wav" in str(err.value) and "\n" not in str(err.value)


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(BankError, match="no recordings"):
        load_folder(tmp_path)
    with pytest.raises(BankError, match="no such"):
        open_bank(tmp_path / "missing")
