"""LoRA adapters in the three formats (peft, stable-audio-tools, LoRAW) applied to a tiny Stable Audio model, mixed
and switched by strength; files that do not fit are one-line errors."""
import json

import pytest
import torch

from footfall.bank.generation.lora import LoraRequest, apply_loras
from footfall.bank.generation.lora_files import LoraError
from footfall.bank.generation.model import ModelSpec, load_model
from tiny_stable_audio import lora_pairs, save_loraw, save_official_lora, save_peft_adapter, save_tiny_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def fresh(model_dir):
    return load_model(ModelSpec.parse(str(model_dir)))


def layer_outputs(loaded, x_by_name):
    return {n: loaded.model.get_submodule(n)(x) for n, x in x_by_name.items()}


def inputs(pairs):
    gen = torch.Generator().manual_seed(5)
    return {n: torch.randn(3, a.shape[1], generator=gen) for n, (a, _) in pairs.items()}


def expected(base, pairs, xs, scaling):
    return {n: base[n] + scaling * xs[n] @ (b @ a).T for n, (a, b) in pairs.items()}


@pytest.mark.parametrize("fmt", ["peft", "official", "loraw", "loraw_alpha"])
def test_each_format_adds_exactly_its_scaled_low_rank_update(model_dir, tmp_path, fmt):
    loaded = fresh(model_dir)
    pairs = lora_pairs(loaded.model, rank=4)
    xs = inputs(pairs)
    with torch.no_grad():
        base = layer_outputs(loaded, xs)
    if fmt == "peft":
        path, scaling = save_peft_adapter(tmp_path / "peft", pairs, alpha=8.0), 2.0
    elif fmt == "official":
        path, scaling = save_official_lora(tmp_path / "o.safetensors", pairs, alpha=2.0), 0.5
    elif fmt == "loraw":
        path, scaling = save_loraw(tmp_path / "w.ckpt", pairs), 1.0
    else:
        path, scaling = save_loraw(tmp_path / "w.safetensors", pairs, alpha=12.0), 3.0
    stack = apply_loras(loaded, [LoraRequest.parse(f"{path}:0.5")])
    adapter = stack.adapters[0]
    assert adapter.layers == len(pairs) and adapter.rank == 4
    assert adapter.format == {"peft": "peft", "official": "stable-audio-tools"}.get(fmt, "loraw")
    with torch.no_grad():
        got = layer_outputs(loaded, xs)
    for n, want in expected(base, pairs, xs, 0.5 * scaling).items():
        torch.testing.assert_close(got[n], want, rtol=1e-4, atol=1e-5)


def test_two_adapters_mix_and_switch(model_dir, tmp_path):
    loaded = fresh(model_dir)
    p1, p2 = lora_pairs(loaded.model, rank=4, seed=1), lora_pairs(loaded.model, rank=2, seed=2)
    xs = inputs(p1)
    with torch.no_grad():
        base = layer_outputs(loaded, xs)
    a = save_peft_adapter(tmp_path / "a", p1, alpha=4.0)
    b = save_official_lora(tmp_path / "b.safetensors", p2, alpha=2.0)
    stack = apply_loras(loaded, [LoraRequest(a, 1.0), LoraRequest(b, 2.0)])
    one, two = (ad.name for ad in stack.adapters)
    e1, e2 = expected(base, p1, xs, 1.0), expected(base, p2, xs, 2.0)
    with torch.no_grad():
        mixed = layer_outputs(loaded, xs)
        for n in xs:  # both at once: the two updates add
            torch.testing.assert_close(mixed[n], e1[n] + e2[n] - base[n], rtol=1e-4, atol=1e-5)
        stack.solo(two, 1.0)
        solo = layer_outputs(loaded, xs)
        for n, want in expected(base, p2, xs, 1.0).items():
            torch.testing.assert_close(solo[n], want, rtol=1e-4, atol=1e-5)
        stack.set_strengths({one: 0.0, two: 0.0})
        off = layer_outputs(loaded, xs)
        for n in xs:
            torch.testing.assert_close(off[n], base[n])
    with pytest.raises(ValueError, match="no adapter named"):
        stack.set_strengths({"nope": 1.0})


def test_strength_parsing():
    assert LoraRequest.parse("a/b.safetensors") == LoraRequest(__import__("pathlib").Path("a/b.safetensors"), 1.0)
    assert LoraRequest.parse("x.ckpt:0.25").strength == 0.25
    assert LoraRequest.parse("C:/weird").strength == 1.0


def one_line_error(loaded, path) -> str:
    with pytest.raises(LoraError) as info:
        apply_loras(loaded, [LoraRequest(path)])
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_files_that_do_not_fit_are_one_line_errors(model_dir, tmp_path):
    from safetensors.torch import save_file

    loaded = fresh(model_dir)
    pairs = lora_pairs(loaded.model, rank=4)
    name = next(iter(pairs))
    assert "not found" in one_line_error(loaded, tmp_path / "missing.safetensors")
    save_file({"foo.weight": torch.zeros(2, 2)}, str(tmp_path / "other.safetensors"))
    assert "not a LoRA adapter" in one_line_error(loaded, tmp_path / "other.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not safetensors at all")
    assert "not a readable safetensors" in one_line_error(loaded, tmp_path / "junk.safetensors")
    bad_name = {"model.model.transformer.layers.9.self_attn.to_qkv": pairs[name]}
    save_official_lora(tmp_path / "names.safetensors", bad_name, alpha=4.0)
    assert "names no linear layer" in one_line_error(loaded, tmp_path / "names.safetensors")
    a, b = pairs[name]
    save_loraw(tmp_path / "shape.ckpt", {name: (torch.zeros(4, a.shape[1] + 1), b)})
    assert "the layer is" in one_line_error(loaded, tmp_path / "shape.ckpt")
    save_loraw(tmp_path / "rank.ckpt", {name: (a, torch.zeros(b.shape[0], 3))})
    assert "rank mismatch" in one_line_error(loaded, tmp_path / "rank.ckpt")
    peft_dir = save_peft_adapter(tmp_path / "peftbad", pairs, alpha=4.0)
    config = json.loads((peft_dir / "adapter_config.json").read_text())
    (peft_dir / "adapter_config.json").write_text(json.dumps(config | {"r": 8}))
    assert "without their adapter_config.json" in one_line_error(loaded, peft_dir / "adapter_model.safetensors")
    assert "rank 4" in one_line_error(loaded, peft_dir)
    torch.save({"state_dict": {f"{name}/lora_down.weight": a}, "extra": object.__new__(Exotic)},
               str(tmp_path / "pickle.ckpt"))
    assert "unsafe pickle" in one_line_error(loaded, tmp_path / "pickle.ckpt")


class Exotic:
    """A class a pickle would have to import: weights_only loading refuses it."""


def test_an_adapter_saved_by_peft_itself_loads_exactly(model_dir, tmp_path):
    """What `footfall bank train-lora` writes: peft's get_peft_model on the DiT, then save_pretrained."""
    from peft import LoraConfig, get_peft_model

    trained = fresh(model_dir)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["to_qkv", "to_q", "to_kv", "to_out"],
                        init_lora_weights=False)  # random B as well, so the adapter changes the output
    peft_dit = get_peft_model(trained.dit, config)
    peft_dit.save_pretrained(str(tmp_path / "trained"))
    names = [n for n, m in trained.model.named_modules() if hasattr(m, "lora_A")]
    xs = {n: torch.randn(3, trained.model.get_submodule(n).base_layer.in_features) for n in names}
    with torch.no_grad():
        want = layer_outputs(trained, xs)
    loaded = fresh(model_dir)
    stack = apply_loras(loaded, [LoraRequest(tmp_path / "trained")])
    assert stack.adapters[0].format == "peft" and stack.adapters[0].layers == len(names)
    with torch.no_grad():
        got = layer_outputs(loaded, xs)
    for n in names:
        torch.testing.assert_close(got[n], want[n], rtol=1e-4, atol=1e-5)
