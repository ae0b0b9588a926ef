"""Stable Audio models load from safetensors or weights-only checkpoints, through one load_model."""
import shutil

import pytest
import torch

from footfall.bank.generation.model import ModelError, ModelSpec, load_model
from tiny_stable_audio import save_tiny_model


def test_safetensors_and_a_weights_only_ckpt_load_the_same_model(tmp_path):
    model_dir = save_tiny_model(tmp_path / "st")
    loaded = load_model(ModelSpec.parse(str(model_dir)))
    assert loaded.sample_rate == 44100 and loaded.downsampling_ratio == 32 and loaded.name == "st"
    assert loaded.spec.torch_dtype == torch.float32 and not loaded.model.training
    ckpt_dir = tmp_path / "ckpt"
    ckpt_dir.mkdir()
    shutil.copy(model_dir / "model_config.json", ckpt_dir)
    torch.save({"state_dict": loaded.model.state_dict()}, str(ckpt_dir / "model.ckpt"))  # as Lightning saves
    again = load_model(ModelSpec.parse(f"{ckpt_dir / 'model_config.json'},{ckpt_dir / 'model.ckpt'}"))
    for (k, a), (_, b) in zip(loaded.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.equal(a, b), k
    assert again.config_sha256 == loaded.config_sha256 and again.checkpoint_sha256 != loaded.checkpoint_sha256


def test_specs_are_checked(tmp_path):
    with pytest.raises(ValueError, match="GPU only"):
        ModelSpec("c.json", "m.safetensors", device="cpu", dtype="bf16")
    with pytest.raises(ValueError, match="cpu or cuda"):
        ModelSpec("c.json", "m.safetensors", device="tpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="no model_config.json"):
        ModelSpec.parse(str(tmp_path / "empty"))
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelError, match="a model is a directory"):
        ModelSpec.parse(str(tmp_path / "weights.bin"))
