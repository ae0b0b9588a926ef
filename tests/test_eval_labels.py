"""Labels: reading the CSV, finding it by video stem, timing frames from the video's own timestamps."""
from fractions import Fraction

import av
import numpy as np
import pytest

from footfall.engine.evaluation.labels import LabelsError, labels_path, read_labels, retime, video_frame_times

CSV = """frame,time_s,foot,confidence,note
38,1.2667,A,medium,"walking left; heel stops"
57,1.9000,B,high,walking left
10,0.3333,L,low,
"""


def test_read_labels(tmp_path):
    path = tmp_path / "clip.steps.csv"
    path.write_text(CSV)
    steps = read_labels(path)
    assert [s.frame for s in steps] == [10, 38, 57]
    assert [s.foot for s in steps] == ["left", "A", "B"]
    assert steps[1].t_ns == 1_266_700_000 and steps[1].note == "walking left; heel stops"
    assert steps[0].side_known and not steps[1].side_known
    assert labels_path(tmp_path / "videos" / "clip.mp4", tmp_path) == path


def test_bad_labels_name_file_and_line(tmp_path):
    path = tmp_path / "x.steps.csv"
    path.write_text("frame,time_s,foot\n1,abc,A\n")
    with pytest.raises(LabelsError, match=r"x.steps.csv:2"):
        read_labels(path)
    with pytest.raises(LabelsError, match="not found"):
        read_labels(tmp_path / "missing.steps.csv")


def test_retime_from_video_frame_times(tmp_path):
    video = tmp_path / "clip.mp4"
    with av.open(str(video), "w") as out:
        stream = out.add_stream("mpeg4", rate=Fraction(25, 1))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(12):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i * 20, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    times = video_frame_times(video)
    assert times == [i * 40_000_000 for i in range(12)]
    (tmp_path / "clip.steps.csv").write_text("frame,time_s,foot\n3,0.1,A\n11,0.44,B\n40,1.6,A\n")
    steps = retime(read_labels(tmp_path / "clip.steps.csv"), times)
    assert [s.t_ns for s in steps] == [120_000_000, 440_000_000, 1_600_000_000]
