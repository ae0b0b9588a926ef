"""Pose messages to graph items: characters by name, their skeletons mapped once, frames to feet in metres, Y up.

Pure bookkeeping with no sockets: `accept(data, now_s)` (or `take(parts, now_s)`, a ZeroMQ message's parts) returns
the graph item a message makes (a SkeletonSample, a CharacterEnd, or None for a skeleton description) or raises
ProtocolError with the reason. Every message is counted exactly once in `counters`: `received` = `frames` +
`skeletons` + `ends` + `invalid` (split by reason as `invalid.<reason>`, rate-limited frames among them).
"""
from __future__ import annotations

import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from footfall.engine.messages import CharacterEnd, CharacterJoints, SkeletonSample
from footfall.engine.serve.protocol import (EndMessage, FrameMessage, ProtocolError, SkeletonMessage, decode,
                                            parse_pose_message, position)
from footfall.engine.skeletons import FOOT_ROLES, Scheme, SkeletonError, map_joints, scheme_named


ARRIVALS_KEPT = 8192  # frames whose arrival time is kept for measuring the engine's latency


@dataclass(frozen=True)
class IntakeLimits:
    max_message_bytes: int = 65_536
    max_bones: int = 512
    max_characters: int = 64
    rate_limit_hz: float = 1000.0  # frames a character may send per second of wall time, on average ...
    rate_burst: int = 1000  # ... with bursts of this many

    def __post_init__(self) -> None:
        if min(self.max_message_bytes, self.max_bones, self.max_characters, self.rate_burst) < 1:
            raise ValueError("serve limits must be at least 1")
        if not self.rate_limit_hz > 0:
            raise ValueError("serve rate_limit_hz must be positive")


@dataclass
class Character:
    name: str
    track_id: int
    indices: np.ndarray  # bone index of ankle_l, toe_l, ankle_r, toe_r
    bones: tuple[str, ...]
    up: str
    units_m: float
    scheme: str
    tokens: float
    refilled_s: float


class PoseIntake:
    def __init__(self, schemes: Sequence[Scheme], limits: IntakeLimits = IntakeLimits()) -> None:
        self.schemes = tuple(schemes)
        self.limits = limits
        self.characters: dict[str, Character] = {}
        self.counters: Counter = Counter()
        self.newest_ns = 0
        self._next_id = 0
        self._names: dict[int, str] = {}  # every track id ever given (steps still in flight after an end need it)
        self._arrivals: OrderedDict[tuple[int, int], int] = OrderedDict()  # (track, t_ns) -> monotonic_ns

    def arrival_ns(self, track_id: int, t_ns: int) -> int | None:
        """When the frame (track_id, t_ns) arrived (time.monotonic_ns), for the recent few thousand frames."""
        return self._arrivals.get((track_id, t_ns))

    def accept(self, data: bytes, now_s: float) -> SkeletonSample | CharacterEnd | None:
        self.counters["received"] += 1
        try:
            item = self._accept(data, now_s)
        except ProtocolError as exc:
            self.counters[f"invalid.{exc.reason}"] += 1
            self.counters["invalid"] += 1
            raise
        return item

    def take(self, parts: list[bytes], now_s: float) -> SkeletonSample | CharacterEnd | None:
        """`accept` for a ZeroMQ message: one part, the JSON (a SUB topic part may come first)."""
        if len(parts) > 2:
            raise self.refuse("bad_parts", f"{len(parts)} message parts (send one: the JSON)")
        return self.accept(parts[-1], now_s)

    def refuse(self, reason: str, detail: str) -> ProtocolError:
        """Counts a message refused before it could be parsed (e.g. too many parts) and returns its error."""
        self.counters["received"] += 1
        self.counters["invalid"] += 1
        self.counters[f"invalid.{reason}"] += 1
        return ProtocolError(reason, detail)

    def track_id(self, name: str) -> int | None:
        c = self.characters.get(name)
        return None if c is None else c.track_id

    def name_of(self, track_id: int) -> str:
        return self._names.get(track_id, "")

    def _accept(self, data: bytes, now_s: float) -> SkeletonSample | CharacterEnd | None:
        msg = parse_pose_message(decode(data, self.limits.max_message_bytes), self.limits.max_bones)
        if isinstance(msg, SkeletonMessage):
            self._describe(msg, now_s)
            self.counters["skeletons"] += 1
            return None
        c = self.characters.get(msg.character)
        if c is None:
            raise ProtocolError("unknown_character", f"{msg.character!r}: send its skeleton description first")
        if isinstance(msg, EndMessage):  # the character's slot is free; described again, it is a new track
            self.counters["ends"] += 1
            del self.characters[c.name]
            return CharacterEnd(self.newest_ns, c.track_id, c.name)
        return self._frame(c, msg, now_s)

    def _describe(self, msg: SkeletonMessage, now_s: float) -> None:
        bones = msg.bones
        try:
            if not bones and msg.scheme is not None:
                bones = scheme_named(msg.scheme, self.schemes).order
                if not bones:
                    raise SkeletonError(f"scheme {msg.scheme!r} has no fixed joint order: send bone names")
            scheme, roles = map_joints(bones, self.schemes, FOOT_ROLES, msg.scheme, f"character {msg.character!r}")
        except SkeletonError as exc:
            raise ProtocolError("unmapped_skeleton", str(exc)) from None
        old = self.characters.get(msg.character)
        if old is None and len(self.characters) >= self.limits.max_characters:
            raise ProtocolError("too_many_characters", f"limit {self.limits.max_characters}")
        if old is None:
            track_id, self._next_id = self._next_id, self._next_id + 1
            self._names[track_id] = msg.character
        else:
            track_id = old.track_id
        indices = np.array([roles[r] for r in FOOT_ROLES])
        self.characters[msg.character] = Character(msg.character, track_id, indices, bones, msg.up, msg.units_m,
                                                   scheme, float(self.limits.rate_burst), now_s)

    def _frame(self, c: Character, msg: FrameMessage, now_s: float) -> SkeletonSample:
        feet = np.empty((4, 3))
        for k, index in enumerate(c.indices):
            if isinstance(msg.joints, list):
                if index >= len(msg.joints):
                    raise ProtocolError("bad_joints", f"{len(msg.joints)} joints, the skeleton has {len(c.bones)}")
                value = msg.joints[index]
            else:
                value = msg.joints.get(c.bones[index])
                if value is None:
                    raise ProtocolError("bad_joints", f"no position for {c.bones[index]!r}")
            feet[k] = position(value, c.bones[index])
        ground = msg.ground
        if c.up == "z":  # Z up (Unreal and most DCC tools) -> Y up
            feet = np.stack([feet[:, 0], feet[:, 2], -feet[:, 1]], axis=1)
        feet *= c.units_m
        ground = None if ground is None else ground * c.units_m
        if not self._take_token(c, now_s):
            raise ProtocolError("rate_limited", f"{c.name!r} sends more than {self.limits.rate_limit_hz:g} frames/s")
        self.counters["frames"] += 1
        self.newest_ns = max(self.newest_ns, msg.t_ns)
        self._arrivals[(c.track_id, msg.t_ns)] = time.monotonic_ns()
        if len(self._arrivals) > ARRIVALS_KEPT:
            self._arrivals.popitem(last=False)
        return SkeletonSample(msg.t_ns, (CharacterJoints(c.track_id, feet, ground, msg.screen),))

    def _take_token(self, c: Character, now_s: float) -> bool:
        lim = self.limits
        c.tokens = min(float(lim.rate_burst), c.tokens + (now_s - c.refilled_s) * lim.rate_limit_hz)
        c.refilled_s = now_s
        if c.tokens < 1.0:
            return False
        c.tokens -= 1.0
        return True
