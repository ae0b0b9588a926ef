"""Control requests (the REP socket): per-character surface, footwear, gain and bank, status, echo, shutdown.

`handle(data)` returns the reply and the graph items the request makes (SceneChange, BankChange), in the order they
must reach the mixer. Changes take effect from the newest media time the service has seen. A later change for
everyone overrides earlier per-character ones.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from footfall.bank.format import BankError
from footfall.bank.sample_bank import Bank
from footfall.engine.messages import BankChange, SceneChange
from footfall.engine.serve.intake import PoseIntake
from footfall.engine.serve.protocol import ControlRequest, ProtocolError, decode, encode, parse_control

MAX_CONTROL_BYTES = 65_536


@dataclass
class Voice:
    """What a character's steps sound like."""

    surface: str
    footwear: str
    gain_db: float = 0.0


@dataclass
class Reply:
    data: bytes
    items: list = field(default_factory=list)
    stop: bool = False


class ControlHandler:
    def __init__(self, intake: PoseIntake, bank: Bank, surface: str, footwear: str,
                 status: Callable[[], dict], open_bank: Callable[[str], Bank],
                 publish_status: Callable[[dict], None], folder_pairs: Callable[[], set] | None = None) -> None:
        """`folder_pairs`: with `serve --scenes`, the (surface, footwear) pairs of the folder's banks, which a
        request may set too (the refresher swaps the bank for them)."""
        self.intake = intake
        self._folder_pairs = folder_pairs
        self.bank = bank  # everyone's
        self.banks: dict[int, Bank] = {}  # characters with a bank of their own
        self.everyone = Voice(surface, footwear)
        self.voices: dict[int, Voice] = {}
        self._status = status
        self._open_bank = open_bank
        self._publish_status = publish_status
        self._started = time.monotonic()

    def handle(self, data: bytes) -> Reply:
        try:
            request = parse_control(decode(data, MAX_CONTROL_BYTES))
            return self._handle(request)
        except ProtocolError as exc:
            self.intake.counters["control_errors"] += 1
            return Reply(encode({"ok": False, "reason": exc.reason, "error": str(exc)}))

    def _handle(self, r: ControlRequest) -> Reply:
        self.intake.counters["control_requests"] += 1
        if r.cmd == "ping":
            return Reply(encode({"ok": True}))
        if r.cmd == "echo":
            self._publish_status({"kind": "echo", "token": r.token})
            return Reply(encode({"ok": True, "token": r.token}))
        if r.cmd == "status":
            return Reply(encode({"ok": True, "uptime_s": round(time.monotonic() - self._started, 3),
                                 **self._status()}))
        if r.cmd == "shutdown":
            return Reply(encode({"ok": True, "stopping": True}), stop=True)
        return self._set(r)

    def _set(self, r: ControlRequest) -> Reply:
        items: list = []
        t = self.intake.newest_ns
        track = None
        if r.character is not None:
            track = self.intake.track_id(r.character)
            if track is None:
                raise ProtocolError("unknown_character", f"{r.character!r} has sent no skeleton")
        current = self.bank if track is None else self.banks.get(track, self.bank)
        bank = current
        if r.bank is not None:
            try:
                bank = self._open_bank(r.bank)
            except (BankError, OSError, ValueError) as exc:
                raise ProtocolError("bad_bank", str(exc)) from None
        voice = self.everyone if track is None else self.voices.get(track, Voice(**vars(self.everyone)))
        surface = r.surface or voice.surface
        footwear = r.footwear or voice.footwear
        pairs = self._folder_pairs() if self._folder_pairs is not None and r.bank is None else set()
        surfaces = sorted(set(bank.surfaces) | {s for s, _ in pairs})
        footwears = sorted(set(bank.footwears) | {f for _, f in pairs})
        if surface not in surfaces:
            raise ProtocolError("bad_surface", f"{surface!r} is not in bank {bank.name!r} "
                                               f"(have: {', '.join(surfaces)})")
        if footwear not in footwears:
            raise ProtocolError("bad_footwear", f"{footwear!r} is not in bank {bank.name!r} "
                                                f"(have: {', '.join(footwears)})")
        if bank is not current:
            if track is None:
                self.bank = bank
                self.banks.clear()
            else:
                self.banks[track] = bank
            items.append(BankChange(t, bank, track))
        new = Voice(surface, footwear, voice.gain_db if r.gain_db is None else r.gain_db)
        if track is None:
            self.everyone = new
            self.voices.clear()
        else:
            self.voices[track] = new
        items.append(SceneChange(t, new.surface, new.footwear, 1.0, track, new.gain_db))
        return Reply(encode({"ok": True, "t_ns": t, "character": r.character, **vars(new),
                             "bank": bank.name}), items)
