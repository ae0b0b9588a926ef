"""[bank_render] loads as the code's defaults (documented: test_config_defaults.py); prompts.toml fits the
vocabulary."""
import pytest

from footfall.bank.generation.prompts import load_prompts, parse_prompts
from footfall.bank.generation.render import RenderParams
from footfall.bank.vocabulary import load_vocabulary
from footfall.engine import config as cfg


def test_bank_render_settings_load_as_the_defaults():
    assert cfg.section(cfg.load("default"), "bank_render", RenderParams) == RenderParams()


def test_every_surface_and_footwear_has_prompt_text():
    book, vocabulary = load_prompts(), load_vocabulary()
    assert set(book.surfaces) == set(vocabulary.surfaces) and set(book.footwears) == set(vocabulary.footwears)
    assert book.prompt("wood", "boot") == book.template.format(surface=book.surfaces["wood"],
                                                               footwear=book.footwears["boot"])


def test_prompt_files_that_do_not_fit_are_config_errors():
    vocabulary = load_vocabulary()
    with pytest.raises(cfg.ConfigError, match="'lava' is not in the vocabulary"):
        parse_prompts({"template": "{surface}", "surface": {"lava": "hot rock"}}, vocabulary)
    with pytest.raises(cfg.ConfigError, match="may name only"):
        parse_prompts({"template": "{shoe} on {surface}"}, vocabulary)
    with pytest.raises(cfg.ConfigError, match="unknown key"):
        parse_prompts({"template": "{surface}", "temp": 1}, vocabulary)
