"""Skeleton joint-name mappings: which joint of a BVH file or a streamed skeleton fills each role footfall needs.

The schemes ship in config/skeletons.toml (Bandai Namco, CMU-style, Mixamo, Unreal mannequin, Unity humanoid,
SMPL/AMASS); a user file in the same layout is tried before them. One resolver serves `eval --mocap`, `play-bvh` and
`serve`, so a skeleton that loads in one loads in all; one that cannot be mapped is a SkeletonError naming the joints
it lacks and how to add a mapping.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Sequence

ALL_ROLES: tuple[str, ...] = (
    "hip_l", "hip_r", "knee_l", "knee_r", "foot_l", "foot_r", "toe_l", "toe_r",
    "shoulder_l", "shoulder_r", "elbow_l", "elbow_r", "wrist_l", "wrist_r", "neck", "head")
FOOT_ROLES: tuple[str, ...] = ("foot_l", "toe_l", "foot_r", "toe_r")  # the order ContactDetector3D takes them in


class SkeletonError(ValueError):
    """A skeleton cannot be mapped, or a mapping file is wrong; the message says which joints and how to fix it."""


@dataclass(frozen=True)
class Scheme:
    """One naming scheme: candidate joint names per role, and optionally the scheme's fixed joint order."""

    name: str
    roles: dict[str, tuple[str, ...]]
    order: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = sorted(set(self.roles) - set(ALL_ROLES))
        if unknown:
            raise SkeletonError(f"skeleton scheme {self.name!r}: unknown role(s) {', '.join(unknown)} "
                                f"(roles: {', '.join(ALL_ROLES)})")


def _strip(name: str) -> str:
    return name.rsplit(":", 1)[-1].lower()


def _find(candidates: Sequence[str], names: Sequence[str]) -> int | None:
    """Index of the first candidate present: exact name, then case-insensitive, then without namespace prefixes."""
    for key in (lambda n: n, str.lower, _strip):
        index = {}
        for i, n in enumerate(names):
            index.setdefault(key(n), i)
        for c in candidates:
            if key(c) in index:
                return index[key(c)]
    return None


def parse_schemes(table: dict, source: str) -> tuple[Scheme, ...]:
    schemes = []
    for name, entry in table.items():
        if not isinstance(entry, dict):
            raise SkeletonError(f"{source}: [{name}] must be a table of role = joint name(s)")
        roles: dict[str, tuple[str, ...]] = {}
        order: tuple[str, ...] = ()
        for role, value in entry.items():
            names = (value,) if isinstance(value, str) else value
            if not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) for n in names):
                raise SkeletonError(f"{source}: [{name}] {role} must be a joint name or a list of them")
            if role == "order":
                order = tuple(names)
            else:
                roles[role] = tuple(names)
        schemes.append(Scheme(name, roles, order))
    return tuple(schemes)


def load_schemes(user_file: str | Path | None = None) -> tuple[Scheme, ...]:
    """The user's schemes (if any) followed by the shipped ones."""
    shipped = resources.files("footfall.config").joinpath("skeletons.toml").read_text()
    schemes = parse_schemes(tomllib.loads(shipped), "config/skeletons.toml")
    if user_file is None:
        return schemes
    path = Path(user_file)
    try:
        user = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SkeletonError(f"{path}: skeleton mapping file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise SkeletonError(f"{path}: not valid TOML ({exc})") from None
    return parse_schemes(user, str(path)) + schemes


def scheme_named(name: str, schemes: Sequence[Scheme]) -> Scheme:
    for s in schemes:
        if s.name == name:
            return s
    raise SkeletonError(f"no skeleton scheme {name!r} (have: {', '.join(s.name for s in schemes)})")


def map_joints(names: Sequence[str], schemes: Sequence[Scheme], roles: Sequence[str] = ALL_ROLES,
               scheme: str | None = None, source: str = "skeleton") -> tuple[str, dict[str, int]]:
    """(scheme name, role -> joint index) for the first scheme (or the named one) that fills every role in `roles`.

    Raises SkeletonError naming the closest scheme's missing joints and how to add a mapping."""
    candidates = [scheme_named(scheme, schemes)] if scheme is not None else list(schemes)
    best: tuple[int, Scheme, list[str]] | None = None
    for s in candidates:
        found, missing = {}, []
        for role in roles:
            index = _find(s.roles.get(role, ()), names)
            if index is None:
                missing.append(role)
            else:
                found[role] = index
        if not missing:
            return s.name, found
        if best is None or len(missing) < len(best[2]):
            best = (len(missing), s, missing)
    assert best is not None
    _, s, missing = best
    lacking = ", ".join(f"{role} ({'/'.join(s.roles.get(role, ())) or 'no name'})" for role in missing)
    raise SkeletonError(
        f"{source}: no skeleton mapping fits its {len(names)} joints (closest: {s.name}, which lacks {lacking}); "
        f"add a table mapping each role to your joint names in config/skeletons.toml or a file given with "
        f"--skeletons FILE")
