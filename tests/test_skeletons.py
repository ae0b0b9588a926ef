"""Joint-name mappings: every shipped naming scheme loads from a BVH file; an unmappable skeleton says what lacks."""
import pytest

from footfall.engine.evaluation.bvh import parse_bvh
from footfall.engine.evaluation.projection import joint_roles
from footfall.engine.skeletons import (ALL_ROLES, FOOT_ROLES, SkeletonError, load_schemes, map_joints,
                                       parse_schemes)
from skeleton_media import bvh_text, walk_feet

SCHEMES = {s.name: s for s in load_schemes()}
ROOTS = {"bandai_namco": "joint_Root", "cmu": "Hips", "mixamo": "mixamorig:Hips", "unreal": "pelvis",
         "unity": "Hips", "smpl": "Pelvis"}


def scheme_names(scheme: str, variant: int = 0) -> dict[str, str]:
    roles = SCHEMES[scheme].roles
    return {r: roles[r][min(variant, len(roles[r]) - 1)] for r in ALL_ROLES}


@pytest.mark.parametrize("scheme", sorted(ROOTS))
def test_every_scheme_loads_from_bvh(scheme):
    names = scheme_names(scheme)
    motion = parse_bvh(bvh_text(names, walk_feet(30, 1.0), 30, root=ROOTS[scheme]))
    roles = joint_roles(motion)
    assert {r: motion.joints[i].name for r, i in roles.items()} == names
    assert map_joints([j.name for j in motion.joints], load_schemes())[0] == scheme


def test_cmu_style_names_no_longer_fail():
    """The names from the issue: Hips, LeftHip, LeftKnee, LeftAnkle, LeftToe, LeftShoulder ..."""
    motion = parse_bvh(bvh_text(scheme_names("cmu"), walk_feet(30, 1.0), 30))
    roles = joint_roles(motion)
    assert motion.joints[roles["shoulder_l"]].name == "LeftShoulder"
    assert motion.joints[roles["toe_r"]].name == "RightToe"


def test_namespace_prefix_and_case_are_tolerated():
    names = [n.replace("mixamorig:", "mixamorig1:") for n in scheme_names("mixamo").values()]
    scheme, roles = map_joints(names, load_schemes(), FOOT_ROLES)
    assert scheme == "mixamo" and names[roles["foot_l"]] == "mixamorig1:LeftFoot"
    assert map_joints(["FOOT_L", "toes_l", "foot_r", "Toes_R"], load_schemes(), FOOT_ROLES)[0] == "bandai_namco"


def test_smpl_order_lists_the_24_joints():
    order = SCHEMES["smpl"].order
    assert len(order) == 24 and order[7] == "left_ankle" and order[10] == "left_foot"
    assert map_joints(order, load_schemes(), ALL_ROLES)[0] == "smpl"


def test_unmappable_skeleton_names_the_missing_joints_and_the_fix():
    names = [n for r, n in scheme_names("unreal").items() if r not in ("toe_l", "toe_r")]
    with pytest.raises(SkeletonError) as err:
        map_joints(names, load_schemes(), ALL_ROLES, source="take.bvh")
    message = str(err.value)
    assert "\n" not in message
    assert "take.bvh" in message and "closest: unreal" in message
    assert "toe_l (ball_l)" in message and "toe_r (ball_r)" in message
    assert "config/skeletons.toml" in message and "--skeletons FILE" in message


def test_user_mapping_file_is_tried_first(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text('[studio]\nfoot_l = "L_ankle_jnt"\ntoe_l = "L_ball_jnt"\nfoot_r = "R_ankle_jnt"\n'
                    'toe_r = "R_ball_jnt"\n')
    names = ["root", "L_ankle_jnt", "L_ball_jnt", "R_ankle_jnt", "R_ball_jnt"]
    scheme, roles = map_joints(names, load_schemes(path), FOOT_ROLES)
    assert scheme == "studio" and roles == {"foot_l": 1, "toe_l": 2, "foot_r": 3, "toe_r": 4}


@pytest.mark.parametrize("table, message", [
    ({"x": {"heel_l": "Heel"}}, "unknown role"),
    ({"x": {"foot_l": 3}}, "joint name or a list"),
    ({"x": "foot"}, "must be a table"),
])
def test_bad_mapping_tables_are_errors(table, message):
    with pytest.raises(SkeletonError, match=message):
        parse_schemes(table, "mine.toml")
