"""The scene stage's configuration (its defaults are checked with every table's in test_config_defaults.py): the
prompt lists cover the vocabulary; bad values are one-line ConfigErrors."""
import pytest

from footfall.bank.vocabulary import load_vocabulary
from footfall.engine import config as cfg
from footfall.engine.render import RenderSettings
from footfall.engine.scene.labels import load_prompts


def test_the_prompts_name_every_surface_and_footwear_of_the_vocabulary():
    prompts, vocabulary = load_prompts(), load_vocabulary()
    assert set(prompts.surface) == set(vocabulary.surfaces)
    assert set(prompts.footwear) == set(vocabulary.footwears)
    assert prompts.texts(("a lawn",)) == ["a photo of a lawn"]


def test_bad_scene_settings_are_config_errors(tmp_path):
    table = cfg.load("render")
    table["scene"] = {"tracker": {"enter_distance": 0.05, "exit_distance": 0.1}}
    with pytest.raises(cfg.ConfigError, match="exit_distance < enter_distance"):
        RenderSettings.from_config(table)
    table["scene"] = {"cuts": {"threshold": 1.5}}
    with pytest.raises(cfg.ConfigError, match="threshold"):
        RenderSettings.from_config(table)
    bad = tmp_path / "prompts.toml"
    bad.write_text("[surface]\ngrass = 'a lawn'\n[footwear]\nboot = ['boots']\n")
    with pytest.raises(cfg.ConfigError, match="expected a list of phrases"):
        load_prompts(bad)
