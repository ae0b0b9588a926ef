import threading
import time

import pytest

from footfall.engine.graph.channel import Cancelled, Channel, ChannelClosed
from footfall.engine.graph.supervisor import StageFailed, Supervisor


def test_block_policy_applies_backpressure_and_drops_nothing():
    ch = Channel("c", 2, "block")
    got = []

    def writer():
        for i in range(50):
            ch.put(i)
        ch.close()

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.05)
    assert len(ch) == 2  # the writer is waiting on a full channel
    for item in ch:
        got.append(item)
    t.join()
    assert got == list(range(50))
    assert ch.dropped == 0


def test_latest_policy_keeps_newest_and_counts_drops():
    ch = Channel("video", 2, "latest")
    for i in range(10):
        ch.put(i)
    ch.close()
    assert list(ch) == [8, 9]
    assert ch.dropped == 8


def test_close_drains_then_stops_and_rejects_writes():
    ch = Channel("c", 4)
    ch.put(1)
    ch.close()
    assert ch.get() == 1
    with pytest.raises(ChannelClosed):
        ch.get()
    with pytest.raises(ChannelClosed):
        ch.put(2)


def test_cancel_wakes_blocked_reader_and_writer():
    reader_ch, writer_ch = Channel("r", 1), Channel("w", 1)
    writer_ch.put(0)
    errors = []

    def read():
        try:
            reader_ch.get()
        except Cancelled:
            errors.append("reader")

    def write():
        try:
            writer_ch.put(1)
        except Cancelled:
            errors.append("writer")

    threads = [threading.Thread(target=read), threading.Thread(target=write)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    reader_ch.cancel()
    writer_ch.cancel()
    for t in threads:
        t.join(1)
    assert sorted(errors) == ["reader", "writer"]


def test_get_timeout():
    with pytest.raises(TimeoutError):
        Channel("c", 1).get(timeout=0.01)


def test_supervisor_runs_pipeline_to_completion():
    sup = Supervisor()
    a = sup.channel("a", 2)
    out = []

    def produce(cancel):
        for i in range(100):
            a.put(i)

    def consume(cancel):
        out.extend(a)

    sup.add("produce", produce, [a])
    sup.add("consume", consume)
    sup.run()
    assert out == list(range(100))


def test_failing_stage_ends_run_with_its_message_instead_of_hanging():
    sup = Supervisor()
    a = sup.channel("a", 1)
    finished = []

    def produce(cancel):
        for i in range(10_000):
            a.put(i)  # blocks on the full channel until the failure cancels it

    def consume(cancel):
        try:
            a.get()
            raise ValueError("clip.mp4: decoder exploded")
        finally:
            finished.append("consume")

    sup.add("produce", produce, [a])
    sup.add("consume", consume)
    t0 = time.perf_counter()
    with pytest.raises(StageFailed) as info:
        sup.run()
    assert time.perf_counter() - t0 < 5
    assert info.value.stage == "consume"
    assert str(info.value) == "clip.mp4: decoder exploded"
