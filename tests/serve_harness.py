"""Starts `footfall serve` on a thread for a test, on free loopback ports or ipc:// paths, with a click bank."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from footfall.bank.format import save_bank
from footfall.engine import config as cfg
from footfall.engine.serve.bench import free_base_port
from footfall.engine.serve.service import ServeSettings, serve
from test_render_pipeline import click_bank


def endpoints(kind: str, where: Path) -> dict[str, str]:
    if kind == "ipc":
        return {k: f"ipc://{where}/{k}.sock" for k in ("poses", "events", "control", "audio")}
    base = free_base_port()
    return {k: f"tcp://127.0.0.1:{base + i}" for i, k in enumerate(("poses", "events", "control", "audio"))}


def settings(ends: dict[str, str], serve_table: dict | None = None, limits: dict | None = None,
             pose: dict | None = None) -> ServeSettings:
    table = cfg.load("default")
    table["pose"] = {**table["pose"], **(pose or {})}
    table["serve"] = {**table["serve"], **ends, **(serve_table or {})}
    table["serve"]["limits"] = {**table["serve"].get("limits", {}), **(limits or {})}
    table["mixer"] = {"gain_jitter_db": 0.0, "pitch_jitter_cents": 0.0, "pan_width": 0.0,
                      "max_attenuation_db": 0.0, "intensity_range_db": 0.0}
    return ServeSettings.from_config(table, "test")


@dataclass
class Running:
    ends: dict[str, str]
    thread: threading.Thread
    stop: threading.Event
    result: dict = field(default_factory=dict)

    def close(self, timeout: float = 10.0) -> None:
        self.stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "serve did not stop"


def start(tmp_path: Path, kind: str = "tcp", ends: dict[str, str] | None = None, **kwargs) -> Running:
    bank_dir = tmp_path / "bank"
    if not bank_dir.exists():
        save_bank(click_bank(), bank_dir)
    ends = ends or endpoints(kind, tmp_path)
    stop, ready = threading.Event(), threading.Event()
    running = Running(ends, None, stop)  # type: ignore[arg-type]

    def body() -> None:
        try:
            running.result["summary"] = serve(settings(ends, **kwargs), str(bank_dir), stop=stop,
                                              on_ready=lambda _: ready.set())
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            running.result["error"] = exc
            ready.set()

    running.thread = threading.Thread(target=body, daemon=True)
    running.thread.start()
    assert ready.wait(30), "serve did not start"
    if "error" in running.result:
        raise running.result["error"]
    return running
