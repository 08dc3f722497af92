"""AMI meeting corpus: NXT manual annotations (reference transcripts with real times) and the
Mix-Headset audio, for the chameleon profile.

NXT layout (ami_public_manual_1.6.2.zip, unpacked into `data.ami.path/annotations`):
- `words/<meeting>.<agent>.words.xml`: one element per token, in document order, each with a
  `nite:id` and usually `starttime`/`endtime` (seconds): `<w>` words (attribute `punc="true"`
  for punctuation), and non-word events `<vocalsound/>`, `<disfmarker/>`, `<gap/>`,
  `<nonvocalsound/>`, `<comment/>`, `<pause/>` which we drop (the same rule as
  minutes.text drops their `{tag}` form in QMSum).
- `segments/<meeting>.<agent>.segments.xml`: `<segment starttime endtime>` elements whose
  `<nite:child href="<meeting>.<agent>.words.xml#id(FIRST)..id(LAST)"/>` (or `#id(ONE)`) name an
  inclusive range of word ids in document order. A segment is one speaker turn.
- `corpusResources/meetings.xml`: per meeting, `<speaker nxt_agent="A" role="PM" .../>`, which
  maps the agent letter to the role QMSum uses as speaker name ("Project Manager" ...).

`parse_meeting` turns that into utterances sorted by start time (source "manual", timing "real").
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from minutes.data.download import download
from minutes.data.problems import BadInput
from minutes.io import atomic_path
from minutes.text import clean_text

NITE = "{http://nite.sourceforge.net/}"
ROLES = {"PM": "Project Manager", "ME": "Marketing", "UI": "User Interface", "ID": "Industrial Designer"}
_HREF = re.compile(r"^(?P<file>[^#]+)#id\((?P<first>[^)]+)\)(?:\.\.id\((?P<last>[^)]+)\))?$")
_WORDS_FILE = re.compile(r"^(?P<meeting>[^.]+)\.(?P<agent>[A-Z])\.words\.xml$")


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _parse(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise BadInput(str(path), f"not valid NXT XML ({exc})", "invalid-xml") from exc
    except OSError as exc:
        raise BadInput(str(path), f"cannot read ({exc.strerror or exc})", "unreadable") from exc


def read_words(path: Path) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Token ids in document order, and id -> {text, start, end, punc, kind} (kind: w or event)."""
    order: list[str] = []
    tokens: dict[str, dict[str, Any]] = {}
    for el in _parse(path):
        tid = el.get(f"{NITE}id")
        if not tid:
            continue
        kind = el.tag.split("}")[-1]
        order.append(tid)
        tokens[tid] = {"text": (el.text or "").strip() if kind == "w" else "", "kind": kind,
                       "start": _float(el.get("starttime")), "end": _float(el.get("endtime")),
                       "punc": el.get("punc") == "true"}
    return order, tokens


def join_tokens(tokens: list[dict[str, Any]]) -> str:
    """Words joined by spaces, punctuation attached to the word before it; events dropped."""
    out = ""
    for t in tokens:
        if t["kind"] != "w" or not t["text"]:
            continue
        out += t["text"] if (t["punc"] and out) else (" " + t["text"] if out else t["text"])
    return clean_text(out)


def speaker_names(meetings_xml: Path | None, meeting_id: str) -> dict[str, str]:
    """Agent letter -> role name (QMSum's speaker names) from corpusResources/meetings.xml."""
    if meetings_xml is None or not meetings_xml.is_file():
        return {}
    names = {}
    for meeting in _parse(meetings_xml).iter("meeting"):
        if meeting.get("observation") != meeting_id:
            continue
        for sp in meeting.iter("speaker"):
            agent, role = sp.get("nxt_agent"), sp.get("role", "")
            if agent:
                names[agent] = ROLES.get(role, role or f"Speaker {agent}")
    return names


def parse_meeting(annotations: Path, meeting_id: str) -> list[dict[str, Any]]:
    """Utterances (turns) of one AMI meeting from its NXT words + segments files."""
    annotations = Path(annotations)
    words_dir, seg_dir = annotations / "words", annotations / "segments"
    words_files = sorted(words_dir.glob(f"{meeting_id}.*.words.xml"))
    if not words_files:
        raise BadInput(str(words_dir), f"no NXT words files for meeting {meeting_id}", "missing")
    names = speaker_names(annotations / "corpusResources" / "meetings.xml", meeting_id)
    turns: list[dict[str, Any]] = []
    for wf in words_files:
        agent = _WORDS_FILE.match(wf.name).group("agent")  # type: ignore[union-attr]
        order, tokens = read_words(wf)
        position = {tid: i for i, tid in enumerate(order)}
        seg_file = seg_dir / f"{meeting_id}.{agent}.segments.xml"
        if not seg_file.is_file():
            raise BadInput(str(seg_file), f"segments file missing for {wf.name}", "missing")
        for seg in _parse(seg_file).iter("segment"):
            ids: list[str] = []
            for child in seg.iter(f"{NITE}child"):
                m = _HREF.match(child.get("href", ""))
                if not m:
                    raise BadInput(str(seg_file), f"segment {seg.get(NITE + 'id')}: unreadable href "
                                                  f"{child.get('href')!r}", "invalid")
                first, last = m.group("first"), m.group("last") or m.group("first")
                if first not in position or last not in position:
                    raise BadInput(str(seg_file), f"segment {seg.get(NITE + 'id')}: word id "
                                                  f"{first if first not in position else last} not in {wf.name}",
                                   "span-out-of-bounds")
                ids += order[position[first]:position[last] + 1]
            toks = [tokens[i] for i in ids]
            text = join_tokens(toks)
            if not text:
                continue
            times = [t for tok in toks for t in (tok["start"], tok["end"]) if t is not None]
            start = _float(seg.get("starttime")) if seg.get("starttime") else (min(times) if times else None)
            end = _float(seg.get("endtime")) if seg.get("endtime") else (max(times) if times else None)
            if start is None or end is None:
                continue  # a turn without any time cannot be placed
            turns.append({"speaker": names.get(agent, f"Speaker {agent}"), "agent": agent,
                          "start": round(start, 3), "end": round(max(end, start), 3), "text": text})
    turns.sort(key=lambda t: (t["start"], t["agent"]))
    return [{"meeting_id": meeting_id, "idx": i, "speaker": t["speaker"], "start": t["start"], "end": t["end"],
             "text": t["text"], "source": "manual", "timing": "real", "domain": "Product", "split": ""}
            for i, t in enumerate(turns)]


def ensure_annotations(url: str, root: Path) -> Path:
    """The unpacked NXT annotations under `root/annotations` (downloaded and unzipped once)."""
    import zipfile

    target = Path(root) / "annotations"
    if (target / "words").is_dir():
        return target
    archive = download(url, Path(root) / Path(url).name)
    with atomic_path(target) as tmp:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
    return target
