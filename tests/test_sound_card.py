"""The sound-card sink: the callback only copies from the ring and says when each frame reaches the DAC; underruns
never fail the run; callback errors, vanished and missing devices surface as one-line errors. A fake stream in
process, and the real PortAudio path through an ALSA config whose default pcm is the null device."""
import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from footfall.sinks.errors import SinkError
from footfall.sinks.sound_card import SoundCardParams, SoundCardSink
from fake_output import factory

SR = 48000
NULL_ALSA = "pcm.!default { type null }\nctl.!default { type hw card 0 }\n"


def feed(sink: SoundCardSink, seconds: float, value: float = 0.25) -> None:
    """Keeps the ring filled, as the mixer thread does."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        region = sink.ring.writable()[: 2 * sink.params.block - sink.ring.fill]
        region[:] = value
        sink.ring.commit(region.shape[0])
        time.sleep(0.001)


def test_callback_plays_the_ring_and_maps_frames_to_dac_times():
    sink = SoundCardSink(SoundCardParams(block=128), SR, 2, record=True, stream_factory=factory())
    sink.start()
    feed(sink, 0.3)
    sink.close()
    assert sink.closed.is_set()
    stream = sink._stream
    played = np.concatenate(stream.played)
    assert sink.ring.read > 0 and np.all(played[-sink.ring.read:][:100] == 0.25)
    np.testing.assert_array_equal(sink.ring.take_played(), played)  # the record is what the device got
    frame = sink.ring.read - 1
    dac = sink.dac_ns(frame)
    assert dac is not None and abs(dac - time.monotonic_ns()) < 1e9
    assert sink.dac_ns(frame) - sink.dac_ns(frame - SR // 100) == 10_000_000  # 10 ms of frames = 10 ms of DAC time
    assert sink.dac_ns(sink.ring.read + 10) is None  # not played yet
    assert not sink.paced_here


def test_an_empty_ring_plays_silence_and_counts_underruns_without_failing():
    sink = SoundCardSink(SoundCardParams(block=128), SR, 2, stream_factory=factory())
    sink.start()
    time.sleep(1.3)  # past the first second, nothing written
    sink.check()
    sink.close()
    assert sink.underruns > 0 and sink.underruns_warmup > 0
    assert np.all(np.concatenate(sink._stream.played) == 0)


def test_an_unpaced_device_is_paced_by_the_callback():
    sink = SoundCardSink(SoundCardParams(block=256), SR, 2, stream_factory=factory(paced=False))
    t0 = time.monotonic()
    sink.start()
    feed(sink, 0.5)
    sink.close()
    elapsed = time.monotonic() - t0
    assert sink.paced_here
    assert sink._pace[1] / SR < elapsed + 0.05  # never more than a block or so ahead of real time


def test_a_callback_error_is_raised_by_check_on_the_mixer_thread():
    sink = SoundCardSink(SoundCardParams(block=128), SR, 2, stream_factory=factory())
    sink.ring.play = None  # the copy itself fails inside the callback
    sink.start()
    time.sleep(0.05)
    with pytest.raises(SinkError, match="output callback failed: TypeError"):
        sink.check()
    sink.close()


def test_a_device_that_vanishes_ends_the_run_with_a_message():
    sink = SoundCardSink(SoundCardParams(block=128), SR, 2, stream_factory=factory(vanish_after=5))
    sink.start()
    time.sleep(0.1)
    with pytest.raises(SinkError, match="output device stopped"):
        sink.check()
    sink.close()


def test_a_device_that_cannot_open_is_one_line_naming_it():
    def refuse(**kwargs):
        raise ValueError("No output device matching 'studio'")

    with pytest.raises(SinkError, match=r"sound card 'studio': No output device matching 'studio' \(output devices"):
        SoundCardSink(SoundCardParams(device="studio"), SR, 2, stream_factory=refuse)


@pytest.mark.parametrize("bad", [{"block": 8}, {"fill_blocks": 0}, {"latency": "soon"}, {"latency": "9"}])
def test_bad_parameters_are_refused(bad):
    with pytest.raises(ValueError):
        SoundCardParams(**bad)


PORTAUDIO_SCRIPT = textwrap.dedent("""
    import json, time, sys
    sys.path.insert(0, sys.argv[1])
    from test_sound_card import feed
    from footfall.sinks.errors import SinkError
    from footfall.sinks.sound_card import SoundCardParams, SoundCardSink, output_devices
    sink = SoundCardSink(SoundCardParams(block=256), 48000, 2)
    t0 = time.monotonic()
    sink.start()
    feed(sink, 1.5)
    sink.close()
    elapsed = time.monotonic() - t0
    try:
        SoundCardSink(SoundCardParams(device="no such card"), 48000, 2)
        missing = ""
    except SinkError as exc:
        missing = str(exc)
    print(json.dumps({"devices": output_devices(), "paced": sink.paced_here, "played_s": sink.ring.read / 48000,
                      "elapsed": elapsed, "underruns": sink.underruns, "missing": missing}))
""")


def test_portaudio_on_the_alsa_null_device(tmp_path):
    conf = tmp_path / "asound.conf"
    conf.write_text(NULL_ALSA)
    env = dict(os.environ, ALSA_CONFIG_PATH=str(conf))
    result = subprocess.run([sys.executable, "-c", PORTAUDIO_SCRIPT, os.path.dirname(__file__)], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    got = json.loads(result.stdout.strip().splitlines()[-1])
    assert got["devices"] and got["paced"]  # the null device takes audio as fast as it comes: the sink paces it
    assert 1.0 < got["played_s"] < got["elapsed"] + 0.05
    assert got["underruns"] == 0
    assert got["missing"].startswith("sound card 'no such card':") and "output devices: 0 default" in got["missing"]
