"""Chameleon-profile sources fetched by URL (file:// here): QMSum from a repository zip, AMI
annotations + audio. No network: the archives are built from local files in QMSum/NXT format."""
import json
import zipfile
from pathlib import Path

import pytest

from minutes.config import load_params
from minutes.config.data import QmsumSource
from minutes.data.audio_sources import ami_jobs
from minutes.data.download import ensure_qmsum
from minutes.data.problems import BadInput, ProblemLog
from minutes.data.qmsum import SourceMeeting

FIXTURE = Path(__file__).parent / "fixtures" / "ami"


def test_qmsum_unpacked_from_repository_zip(tmp_path):
    archive = tmp_path / "main.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("QMSum-main/data/ALL/train/ES2002a.json", json.dumps({"meeting_transcripts": []}))
        zf.writestr("QMSum-main/data/ALL/val/Bed004.json", "{}")
        zf.writestr("QMSum-main/README.md", "x")
    cfg = QmsumSource(path=tmp_path / "qmsum", splits=["train", "val"], download_url=archive.as_uri())
    assert ensure_qmsum(cfg) == cfg.path
    assert sorted(p.relative_to(cfg.path).as_posix() for p in cfg.path.rglob("*.json")) == [
        "train/ES2002a.json", "val/Bed004.json"]
    archive.unlink()  # present folders: nothing is fetched again
    ensure_qmsum(cfg)
    with pytest.raises(BadInput, match="download failed"):
        ensure_qmsum(QmsumSource(path=tmp_path / "other", splits=["train"], download_url=archive.as_uri()))
    assert not (tmp_path / "other").exists() or not any((tmp_path / "other").iterdir())


def test_ami_jobs_fetch_annotations_and_audio(tmp_path, ci_overrides):
    archive = tmp_path / "ami_public_manual.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in FIXTURE.rglob("*.xml"):
            zf.write(f, f.relative_to(FIXTURE).as_posix())
    audio = tmp_path / "mirror" / "ES2002a"
    audio.mkdir(parents=True)
    (audio / "ES2002a.Mix-Headset.wav").write_bytes(b"RIFF fake")
    params = load_params("ci", ci_overrides + [
        "data.ami.enabled=true", f"data.ami.path={tmp_path / 'ami'}", f"data.ami.annotations_url={archive.as_uri()}",
        f"data.ami.audio_url={(tmp_path / 'mirror').as_uri()}/{{meeting}}/{{meeting}}.Mix-Headset.wav"])
    sources = [SourceMeeting({"meeting_id": m, "split": "train", "domain": d}, [])
               for m, d in (("ES2002a", "Product"), ("Bed004", "Academic"), ("TS3003a", "Product"))]
    problems = ProblemLog()
    jobs = ami_jobs(params, sources, problems)
    assert [j.meeting_id for j in jobs] == ["ES2002a.ami"]
    assert jobs[0].path.read_bytes() == b"RIFF fake" and jobs[0].split == "train"
    assert [t.speaker for t in jobs[0].reference][:2] == ["Project Manager", "Industrial Designer"]
    # TS3003a has neither annotations nor audio: reported, not fatal
    assert len(problems) == 1 and "TS3003a" in problems.problems[0].reason
