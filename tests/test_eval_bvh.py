"""BVH parsing and forward kinematics on a tiny file with a hand-computed answer."""
import numpy as np
import pytest

from footfall.engine.evaluation.bvh import BvhError, forward_kinematics, parse_bvh, world_positions

TINY = """HIERARCHY
ROOT Hips
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT Leg
  {
    OFFSET 0 -40 0
    CHANNELS 3 Zrotation Xrotation Yrotation
    JOINT Foot
    {
      OFFSET 0 -50 0
      CHANNELS 3 Zrotation Xrotation Yrotation
      End Site
      {
        OFFSET 0 0 10
      }
    }
  }
  JOINT Head
  {
    OFFSET 0 80 0
    CHANNELS 3 Zrotation Xrotation Yrotation
  }
}
MOTION
Frames: 2
Frame Time: 0.0333333
0 95 0 0 0 0 0 0 0 0 0 0 0 0 0
10 95 0 0 90 90 0 0 0 0 0 0 0 0 0
"""


def test_parse_structure():
    motion = parse_bvh(TINY)
    assert [j.name for j in motion.joints] == ["Hips", "Leg", "Foot", "Head"]
    assert [j.parent for j in motion.joints] == [-1, 0, 1, 0]
    assert [j.channel_start for j in motion.joints] == [0, 6, 9, 12]
    assert motion.frames.shape == (2, 15)
    assert motion.fps == 30.0


def test_forward_kinematics_known_result():
    p = forward_kinematics(parse_bvh(TINY))
    # frame 0: rest pose
    np.testing.assert_allclose(p[0], [[0, 95, 0], [0, 55, 0], [0, 5, 0], [0, 175, 0]], atol=1e-9)
    # frame 1: hips moved 10 in x and rotated: first Z by 0, then X by 90, then Y by 90 (R = Rz Rx Ry).
    # The leg offset (0,-40,0): Ry leaves it, Rx(90) maps (0,-40,0) -> (0,0,-40), Rz(0) leaves it.
    np.testing.assert_allclose(p[1, 1], [10, 95, -40], atol=1e-9)
    np.testing.assert_allclose(p[1, 2], [10, 95, -90], atol=1e-9)
    np.testing.assert_allclose(p[1, 3], [10, 95, 80], atol=1e-9)


def test_rotation_order_matters():
    text = TINY.replace("10 95 0 0 90 90 0", "10 95 0 0 90 0 0").replace(
        "CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation",
        "CHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation")
    p = forward_kinematics(parse_bvh(text))
    # now the 90 is a Y rotation, which leaves the vertical leg where it was
    np.testing.assert_allclose(p[1, 1], [10, 55, 0], atol=1e-9)


def test_world_positions_detects_centimetres():
    p = world_positions(parse_bvh(TINY))
    np.testing.assert_allclose(p[0, 3], [0, 1.75, 0], atol=1e-12)


def test_world_positions_z_up_becomes_y_up():
    text = TINY.replace("OFFSET 0 -40 0", "OFFSET 0 0 -40").replace("OFFSET 0 -50 0", "OFFSET 0 0 -50") \
        .replace("OFFSET 0 80 0", "OFFSET 0 0 80").replace("0 95 0 0 0 0 0", "0 0 95 0 0 0 0", 1)
    text = text.replace("10 95 0 0 90 90", "10 0 95 0 0 0")
    p = world_positions(parse_bvh(text))
    np.testing.assert_allclose(p[0, 3], [0, 1.75, 0], atol=1e-12)
    np.testing.assert_allclose(p[0, 2], [0, 0.05, 0], atol=1e-12)


def test_truncated_motion_is_an_error():
    with pytest.raises(BvhError, match="expected 2 frames"):
        parse_bvh(TINY.rsplit("\n", 2)[0], "tiny.bvh")
