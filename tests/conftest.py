import pytest
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def clip_folder(tmp_path_factory):
    """A tiny open_clip model taught lawn and planks, in open_clip's folder layout (tests/scene_media.py)."""
    from scene_media import tiny_clip_folder

    return tiny_clip_folder(tmp_path_factory.mktemp("clip") / "tiny")


@pytest.fixture(scope="session")
def labeller(clip_folder):
    from footfall.engine.scene.clip_model import load_clip
    from footfall.engine.scene.labels import load_prompts
    from footfall.engine.scene.stage import SceneLabeller

    return SceneLabeller.from_embedder(load_clip(str(clip_folder)), load_prompts())
