"""Network streams on loopback, produced here with PyAV: MPEG-TS over UDP and TCP, HLS from a local HTTP server.
Each is cut mid-stream and brought back; the source says so, waits its backoff, reconnects, and media time goes on
without going back. A file played as live keeps its timestamps and arrives no faster than real time."""
import functools
import http.server
import io
import socket
import threading
import time

import pytest

from footfall.sources.capture import CaptureParams
from footfall.sources.errors import SourceError
from footfall.sources.network_stream import open_stream, stream_options
from footfall.sources.paced_file import PacedFileSource
from media import make_video
from stream_sender import StreamSender

PARAMS = CaptureParams(open_timeout_s=3.0, read_timeout_s=1.0, backoff_initial_s=0.2, backoff_max_s=1.0)


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def read_through_a_cut(capture, cut, resume, before=20, after=20):
    """Reads `before` frames, cuts the stream, brings it back, reads `after` more; returns the frames' times."""
    times = []
    for frame in capture.frames():
        times.append(frame.t_ns)
        if len(times) == before:
            cut()
            resume()
        if len(times) == before + after:
            break
    capture.cancel.set()
    return times


def check_reconnected(capture, log, times, before=20):
    assert capture.reconnects >= 1
    assert "reconnecting in" in log.getvalue()
    assert all(b > a for a, b in zip(times, times[1:]))  # media time never goes back
    gaps = [b - a for a, b in zip(times[before - 1:], times[before:])]
    assert max(gaps) > 300_000_000  # the cut shows as a gap in media time (after frames already on their way)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
def test_mpegts_stream_reconnects_after_a_cut(transport):
    if transport == "udp":
        port = free_port(socket.SOCK_DGRAM)
        url, send_url = f"udp://127.0.0.1:{port}", f"udp://127.0.0.1:{port}?pkt_size=1316"
    else:
        port = free_port()
        url, send_url = f"tcp://127.0.0.1:{port}", f"tcp://127.0.0.1:{port}?listen=1"
    senders = [StreamSender(send_url).start()]
    log = io.StringIO()
    capture = open_stream(url, PARAMS)
    capture.log = log

    def resume():
        senders.append(StreamSender(send_url))
        threading.Timer(2.0, senders[-1].start).start()  # longer than the read timeout: a real cut

    try:
        times = read_through_a_cut(capture, senders[0].stop, resume)
    finally:
        for s in senders:
            s.stop()
    check_reconnected(capture, log, times)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve(folder, port):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), functools.partial(_QuietHandler,
                                                                                    directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_hls_over_http_reconnects_after_the_server_goes_away(tmp_path):
    port = free_port()
    hls = {"hls_time": "0.5", "hls_list_size": "6", "hls_flags": "delete_segments"}
    playlist = tmp_path / "live.m3u8"
    sender = StreamSender(str(playlist), fmt="hls", options=hls).start()
    deadline = time.monotonic() + 10
    while not playlist.exists():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    servers = [serve(tmp_path, port)]
    log = io.StringIO()
    capture = open_stream(f"http://127.0.0.1:{port}/live.m3u8", PARAMS)
    capture.log = log

    def cut():
        servers[0].shutdown()
        servers[0].server_close()

    def resume():
        threading.Timer(3.0, lambda: servers.append(serve(tmp_path, port))).start()

    try:
        times = read_through_a_cut(capture, cut, resume, before=10, after=40)
    finally:
        sender.stop()
        for s in servers[1:]:
            s.shutdown()
    assert capture.reconnects >= 1 and "reconnecting in" in log.getvalue()
    assert all(b > a for a, b in zip(times, times[1:]))


def test_a_stream_that_never_opens_gives_up_after_its_retries():
    port = free_port()
    log = io.StringIO()
    capture = open_stream(f"tcp://127.0.0.1:{port}", CaptureParams(open_timeout_s=0.5, backoff_initial_s=0.1,
                                                                    backoff_max_s=0.2, max_retries=2))
    capture.log = log
    with pytest.raises(SourceError, match=r"tcp://127.0.0.1:\d+: cannot open .*gave up after 2 attempts"):
        list(capture.frames())
    assert log.getvalue().count("reconnecting in") == 2


def test_a_cancelled_capture_stops_without_waiting_out_its_backoff():
    port = free_port()
    capture = open_stream(f"tcp://127.0.0.1:{port}", CaptureParams(open_timeout_s=0.5, backoff_initial_s=8.0,
                                                                    backoff_max_s=8.0))
    capture.log = io.StringIO()
    threading.Timer(0.7, capture.cancel.set).start()
    t0 = time.monotonic()
    assert list(capture.frames()) == []
    assert time.monotonic() - t0 < 4.0


def test_stream_options_keep_live_streams_low_delay():
    assert stream_options("rtsp://cam/1")["rtsp_transport"] == "tcp"
    assert stream_options("udp://127.0.0.1:1234")["overrun_nonfatal"] == "1"
    assert stream_options("srt://host:9000")["fflags"] == "nobuffer"


def test_a_file_played_as_live_keeps_its_timestamps_and_its_pace(tmp_path):
    clip = make_video(tmp_path / "clip.mp4", seconds=1.0, fps=25)
    frames = list(PacedFileSource(clip).frames())
    assert len(frames) == 25
    assert [f.t_ns for f in frames] == [i * 40_000_000 for i in range(25)]
    arrivals = [f.arrival_ns for f in frames]
    assert all(b >= a for a, b in zip(arrivals, arrivals[1:]))
    assert arrivals[-1] - arrivals[0] >= frames[-1].t_ns  # never faster than its own clock
