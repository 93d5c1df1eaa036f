import importlib.util
import os
import sys

import pytest

ALGOS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "algos")


def load_algo(name: str):
    """Import algos/{name}.py as a module (the scripts are standalone files, not a package)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, os.path.join(ALGOS, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def in_tmp_dir(tmp_path, monkeypatch):
    """Every test runs in its own directory, so runs/, videos/ and wandb/ land there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    return tmp_path
