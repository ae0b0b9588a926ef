"""Serve settings from config: loaded, typos refused (default.toml's documentation: test_config_defaults.py)."""
import pytest

from footfall.engine import config as cfg
from footfall.engine.serve.service import ServeParams, ServeSettings


def test_serve_settings_load_and_refuse_typos(tmp_path):
    assert ServeSettings.from_config(cfg.load("default")).serve.poses == "tcp://127.0.0.1:5555"
    bad = tmp_path / "bad.toml"
    bad.write_text("[serve]\npose = 'tcp://127.0.0.1:1'\n")
    with pytest.raises(cfg.ConfigError, match="unknown key"):
        ServeSettings.from_config(cfg.load("default", bad), str(bad))
    with pytest.raises(ValueError, match="endpoints must differ"):
        ServeParams(events="tcp://127.0.0.1:5555")
