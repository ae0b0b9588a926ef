"""config/default.toml documents every serve and 3-D detector parameter with the code's own default."""
import dataclasses

import pytest

from footfall.engine import config as cfg
from footfall.engine.serve.intake import IntakeLimits
from footfall.engine.serve.service import ServeParams, ServeSettings
from footfall.engine.steps.contact3d import Contact3DParams


@pytest.mark.parametrize("cls, path", [(ServeParams, ("serve",)), (IntakeLimits, ("serve", "limits")),
                                       (Contact3DParams, ("steps3d",))])
def test_defaults_are_documented_as_they_are(cls, path):
    table = cfg.read_preset("default")
    for key in path:
        table = table[key]
    fields = {f.name for f in dataclasses.fields(cls)}
    assert set(table) == fields
    default = cls()
    for key, value in table.items():
        if not isinstance(value, dict):
            assert value == getattr(default, key), key


def test_serve_settings_load_and_refuse_typos(tmp_path):
    assert ServeSettings.from_config(cfg.load("default")).serve.poses == "tcp://127.0.0.1:5555"
    bad = tmp_path / "bad.toml"
    bad.write_text("[serve]\npose = 'tcp://127.0.0.1:1'\n")
    with pytest.raises(cfg.ConfigError, match="unknown key"):
        ServeSettings.from_config(cfg.load("default", bad), str(bad))
    with pytest.raises(ValueError, match="endpoints must differ"):
        ServeParams(events="tcp://127.0.0.1:5555")
