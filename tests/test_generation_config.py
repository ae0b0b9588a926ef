"""config/default.toml documents every [bank_render] parameter with the code's own default; prompts.toml fits the
vocabulary."""
import dataclasses

import pytest

from footfall.bank.generation.prompts import load_prompts, parse_prompts
from footfall.bank.generation.render import RenderParams
from footfall.bank.generation.slicing import SliceParams
from footfall.bank.vocabulary import load_vocabulary
from footfall.engine import config as cfg


@pytest.mark.parametrize("cls, path", [(RenderParams, ("bank_render",)), (SliceParams, ("bank_render", "slicing"))])
def test_defaults_are_documented_as_they_are(cls, path):
    table = cfg.read_preset("default")
    for key in path:
        table = table[key]
    assert set(table) == {f.name for f in dataclasses.fields(cls)}
    default = cls()
    for key, value in table.items():
        if not isinstance(value, dict):
            assert value == getattr(default, key), key
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
