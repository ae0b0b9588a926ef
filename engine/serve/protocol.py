"""The serve wire protocol: JSON messages checked field by field, so a bad message is a reason, never an exception.

Shaped after Unreal Live Link (a skeleton description once, then per-frame transforms with a time) and VMC (bones by
name): see docs/protocol.md. Every message is a JSON object with `"v": 1`; unknown fields are ignored; nothing is
ever unpickled or evaluated. parse_* return a typed message or raise ProtocolError with a one-line reason.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

VERSION = 1
MAX_NAME = 64  # characters in a character, bone, surface or footwear name
MAX_TIME_NS = 2**62


class ProtocolError(ValueError):
    """A message is not valid; `reason` is a short machine-readable kind, the message says what was wrong."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class SkeletonMessage:
    character: str
    bones: tuple[str, ...]
    scheme: str | None
    up: str  # "y" or "z"
    units_m: float  # metres per unit of the positions


@dataclass(frozen=True, eq=False)
class FrameMessage:
    character: str
    t_ns: int
    joints: list | dict  # [[x, y, z], ...] in the description's bone order, or {bone: [x, y, z]}
    ground: float | None
    screen: tuple[float, float, float] | None


@dataclass(frozen=True)
class PictureHeader:
    """The JSON part of a picture message on the frames socket (`serve --frames`); the payload follows it."""

    t_ns: int
    format: str  # "jpeg" or "rgb24"
    width: int
    height: int


PICTURE_FORMATS = ("jpeg", "rgb24")


@dataclass(frozen=True)
class EndMessage:
    character: str


@dataclass(frozen=True)
class ControlRequest:
    cmd: str  # "set", "status", "ping", "echo", "shutdown"
    character: str | None = None
    surface: str | None = None
    footwear: str | None = None
    gain_db: float | None = None
    bank: str | None = None
    token: str | None = None  # echo: published back on the status topic (a subscriber knows it is connected)


CONTROL_COMMANDS = ("set", "status", "ping", "echo", "shutdown")


def decode(data: bytes, max_bytes: int) -> dict:
    """A JSON object of at most `max_bytes` with the protocol's version."""
    if len(data) > max_bytes:
        raise ProtocolError("too_large", f"{len(data)} bytes, limit {max_bytes}")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested too deep, an integer of 5000 digits
        raise ProtocolError("not_json", str(exc).splitlines()[0][:120]) from None
    if not isinstance(doc, dict):
        raise ProtocolError("not_object", f"expected a JSON object, got {type(doc).__name__}")
    version = doc.get("v")
    if version != VERSION or isinstance(version, bool):
        raise ProtocolError("bad_version", f"v must be {VERSION}, got {_show(version)}")
    return doc


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, (bytes, bytearray)) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _name(doc: dict, key: str, required: bool = True) -> str | None:
    value = doc.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= MAX_NAME or not value.isprintable():
        raise ProtocolError(f"bad_{key}", f"{key} must be a printable string of 1..{MAX_NAME} characters, "
                                          f"got {_show(value)}")
    return value


def _number(value: Any, key: str) -> float:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**63:
        raise ProtocolError(f"bad_{key}", f"{key} is out of range")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ProtocolError(f"bad_{key}", f"{key} must be a finite number, got {_show(value)}")
    return float(value)


def parse_pose_message(doc: dict, max_bones: int) -> SkeletonMessage | FrameMessage | EndMessage:
    kind = doc.get("type")
    if kind == "frame":
        return _frame(doc, max_bones)
    if kind == "skeleton":
        return _skeleton(doc, max_bones)
    if kind == "end":
        return EndMessage(_name(doc, "character"))
    raise ProtocolError("bad_type", f"type must be skeleton, frame or end, got {_show(kind)}")


def _skeleton(doc: dict, max_bones: int) -> SkeletonMessage:
    character = _name(doc, "character")
    scheme = _name(doc, "scheme", required=False)
    bones = doc.get("bones", [])
    if not isinstance(bones, list) or len(bones) > max_bones:
        raise ProtocolError("bad_bones", f"bones must be a list of at most {max_bones} names")
    if not bones and scheme is None:
        raise ProtocolError("bad_bones", "give bones (names) or a scheme with a fixed joint order")
    names = []
    for b in bones:
        if not isinstance(b, str) or not 0 < len(b) <= MAX_NAME:
            raise ProtocolError("bad_bones", f"bone names must be strings of 1..{MAX_NAME} characters, got {_show(b)}")
        names.append(b)
    up = doc.get("up", "y")
    if up not in ("y", "z"):
        raise ProtocolError("bad_up", f"up must be \"y\" or \"z\", got {_show(up)}")
    units = _number(doc.get("units_m", 1.0), "units_m")
    if not 1e-6 <= units <= 1e3:
        raise ProtocolError("bad_units_m", f"units_m must lie in 1e-6..1e3, got {units}")
    return SkeletonMessage(character, tuple(names), scheme, up, units)


def _time_ns(doc: dict) -> int:
    """The message's media time: integer nanoseconds `t_ns`, or seconds `time_s`."""
    if "t_ns" in doc:
        t = doc["t_ns"]
        if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < MAX_TIME_NS:
            raise ProtocolError("bad_time", f"t_ns must be an integer in 0..2^62, got {_show(t)}")
    elif "time_s" in doc:
        seconds = _number(doc["time_s"], "time")
        if not 0 <= seconds < MAX_TIME_NS / 1e9:
            raise ProtocolError("bad_time", f"time_s must lie in 0..4.6e9, got {seconds}")
        t = int(round(seconds * 1e9))
    else:
        raise ProtocolError("bad_time", "a frame needs t_ns (integer nanoseconds) or time_s")
    return t


def _frame(doc: dict, max_bones: int) -> FrameMessage:
    character = _name(doc, "character")
    t = _time_ns(doc)
    joints = doc.get("joints")
    if isinstance(joints, list):
        if len(joints) > max_bones:
            raise ProtocolError("bad_joints", f"more than {max_bones} joints")
    elif isinstance(joints, dict):
        if len(joints) > max_bones:
            raise ProtocolError("bad_joints", f"more than {max_bones} joints")
    else:
        raise ProtocolError("bad_joints", "joints must be a list of [x, y, z] or an object of bone: [x, y, z]")
    ground = doc.get("ground")
    ground = None if ground is None else _number(ground, "ground")
    screen = doc.get("screen")
    if screen is not None:
        if not isinstance(screen, dict):
            raise ProtocolError("bad_screen", "screen must be an object {x, y, depth}")
        x, y = _number(screen.get("x", 0.5), "screen"), _number(screen.get("y", 0.5), "screen")
        depth = _number(screen.get("depth", 1.0), "screen")
        if not (0 <= x <= 1 and 0 <= y <= 1 and 0 < depth <= 1e3):
            raise ProtocolError("bad_screen", "screen x and y must lie in 0..1 and depth in (0, 1000]")
        screen = (x, y, depth)
    return FrameMessage(character, t, joints, ground, screen)


def parse_picture_header(doc: dict, max_side: int) -> PictureHeader:
    """A picture's header: `type` "frame", its media time, `format` and a size of at most `max_side` a side."""
    kind = doc.get("type")
    if kind != "frame":
        raise ProtocolError("bad_type", f"type must be frame on the frames socket, got {_show(kind)}")
    t = _time_ns(doc)
    fmt = doc.get("format")
    if fmt not in PICTURE_FORMATS:
        raise ProtocolError("bad_format", f"format must be {' or '.join(PICTURE_FORMATS)}, got {_show(fmt)}")
    size = []
    for key in ("width", "height"):
        value = doc.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= max_side:
            raise ProtocolError("bad_size", f"{key} must be an integer in 2..{max_side} ([serve] frames_max_side), "
                                            f"got {_show(value)}")
        size.append(value)
    return PictureHeader(t, fmt, size[0], size[1])


def position(value: Any, what: str) -> tuple[float, float, float]:
    """One [x, y, z] (further numbers, such as a VMC quaternion, are ignored)."""
    if not isinstance(value, list) or len(value) < 3:
        raise ProtocolError("bad_joints", f"{what} must be [x, y, z], got {_show(value)}")
    x, y, z = (_number(v, "joints") for v in value[:3])
    if max(abs(x), abs(y), abs(z)) > 1e7:
        raise ProtocolError("bad_joints", f"{what} is out of range ({_show(value)})")
    return x, y, z


def parse_control(doc: dict) -> ControlRequest:
    cmd = doc.get("cmd")
    if cmd not in CONTROL_COMMANDS:
        raise ProtocolError("bad_cmd", f"cmd must be one of {', '.join(CONTROL_COMMANDS)}, got {_show(cmd)}")
    if cmd == "echo":
        return ControlRequest(cmd, token=_name(doc, "token"))
    if cmd != "set":
        return ControlRequest(cmd)
    gain = doc.get("gain_db")
    gain = None if gain is None else _number(gain, "gain_db")
    if gain is not None and not -120 <= gain <= 24:
        raise ProtocolError("bad_gain_db", f"gain_db must lie in -120..24, got {gain}")
    bank = doc.get("bank")
    if bank is not None and (not isinstance(bank, str) or not 0 < len(bank) <= 4096):
        raise ProtocolError("bad_bank", "bank must be a path or bank name")
    request = ControlRequest("set", _name(doc, "character", False), _name(doc, "surface", False),
                             _name(doc, "footwear", False), gain, bank)
    if (request.surface, request.footwear, request.gain_db, request.bank) == (None, None, None, None):
        raise ProtocolError("bad_set", "set needs at least one of surface, footwear, gain_db, bank")
    return request


def encode(doc: dict) -> bytes:
    return json.dumps({"v": VERSION, **doc}, separators=(",", ":")).encode()
