from __future__ import annotations

from pathlib import Path

import pytest

from minutes import REPO_ROOT
from minutes.config import ParamsError, load_params
from minutes.config.loader import parse_override


@pytest.mark.parametrize("profile", ["local", "ci", "chameleon"])
def test_every_profile_loads(profile: str) -> None:
    p = load_params(profile)
    assert p.profile == profile
    assert p.work_dir.is_absolute()
    assert p.data.qmsum.path.is_absolute()


def test_ci_extends_local_and_overrides_slice() -> None:
    local, ci = load_params("local"), load_params("ci")
    assert local.data.qmsum.max_meetings_per_split is None  # local takes the whole corpus
    assert ci.data.qmsum.max_meetings_per_split is not None  # ci a slice
    assert ci.index.kind == local.index.kind  # inherited
    assert ci.work_dir.name == "ci"


def test_overrides_parse_yaml_scalars() -> None:
    p = load_params("ci", ["train.num_samples=3", "index.kind=hnsw", "data.qmsum.splits=[val]",
                           "asr.vad=false"])
    assert p.train.num_samples == 3 and p.index.kind == "hnsw"
    assert p.data.qmsum.splits == ["val"] and p.asr.vad is False


def test_env_references_expand(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://10.0.0.5:5000")
    assert load_params("chameleon").mlflow.tracking_uri == "http://10.0.0.5:5000"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert load_params("chameleon").mlflow.tracking_uri == "http://127.0.0.1:5000"


def _write(tmp: Path, text: str) -> Path:
    path = tmp / "bad.yaml"
    path.write_text(text)
    return path


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "extends: ci\nindex:\n  kindd: flat\n")
    with pytest.raises(ParamsError) as err:
        load_params(path)
    msg = str(err.value)
    assert str(path) in msg and "index.kindd" in msg and "unknown key" in msg


def test_wrong_type_names_file_key_and_expectation(tmp_path: Path) -> None:
    path = _write(tmp_path, "extends: ci\ntrain:\n  num_samples: lots\n")
    with pytest.raises(ParamsError) as err:
        load_params(path)
    msg = str(err.value)
    assert str(path) in msg and "train.num_samples" in msg and "integer" in msg


def test_wrong_literal_from_override_is_attributed_to_override() -> None:
    with pytest.raises(ParamsError) as err:
        load_params("ci", ["index.kind=annoy"])
    assert "<override>" in str(err.value) and "index.kind" in str(err.value)


def test_missing_required_value(tmp_path: Path) -> None:
    path = _write(tmp_path, "work_dir: /tmp/x\ndata: {}\n")
    with pytest.raises(ParamsError) as err:
        load_params(path)
    assert "data.qmsum" in str(err.value) and "required" in str(err.value)


def test_credentials_are_refused_in_params_and_overrides(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="credential"):
        load_params("ci", ["mlflow.password=hunter2"])
    path = _write(tmp_path, "extends: ci\ninfra:\n  application_credential_secret: abc\n")
    with pytest.raises(ParamsError, match="credential"):
        load_params(path)


def test_unknown_profile_lists_known_ones() -> None:
    with pytest.raises(ParamsError, match="known profiles: .*ci"):
        load_params("nosuch")


def test_bad_override_syntax() -> None:
    with pytest.raises(ParamsError, match="key.sub=value"):
        parse_override("novalue")


def test_extends_cycle(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(ParamsError, match="cycle"):
        load_params(tmp_path / "a.yaml")


def test_params_dir_is_in_repo() -> None:
    assert (REPO_ROOT / "params" / "local.yaml").is_file()
