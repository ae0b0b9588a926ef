"""`footfall serve --scenes BANKS_DIR`: a request that sets everyone's surface swaps in the folder's bank for it
(loaded in the background, the graph never waiting), and surfaces of the folder's banks are accepted."""
import threading
import time

import pytest

from footfall.engine.client import ClientError
from footfall.engine.serve.service import serve
from scene_media import banks_folder
from serve_harness import endpoints, settings
from test_serve_service import client_for


def test_setting_a_surface_swaps_in_the_folders_bank_for_it(tmp_path):
    folder = banks_folder(tmp_path / "banks")
    ends = endpoints("tcp", tmp_path)
    s = settings(ends)
    from dataclasses import replace

    s = replace(s, render=replace(s.render, render=replace(s.render.render, surface="grass")))
    stop, ready, result = threading.Event(), threading.Event(), {}

    def body():
        try:
            result["summary"] = serve(s, str(folder / "grass-sneaker"), stop=stop, on_ready=lambda _: ready.set(),
                                      scenes=str(folder))
        except BaseException as exc:  # noqa: BLE001 - reported below
            result["error"] = exc
            ready.set()

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    assert ready.wait(30) and "error" not in result, result.get("error")
    running = type("Running", (), {"ends": ends})()
    try:
        with client_for(running) as client:
            assert client.set(surface="wood")["surface"] == "wood"  # the opening bank has no wood; the folder has
            with pytest.raises(ClientError, match="have: grass, wood"):
                client.set(surface="lava")
            time.sleep(0.5)
    finally:
        stop.set()
        thread.join(20)
    assert "error" not in result, result.get("error")
    assert [(w.bank, w.how) for w in result["summary"].bank_swaps] == [("wood-bank", "loaded")]
