"""Real benign text with provenance: docstrings and READMEs of permissively licensed Python code.

Writes ``injection/real/texts.jsonl``: paragraph-sized texts (150-2,500 characters) from

* the docstrings of the Python standard library (PSF-2.0; ``test``, ``idlelib`` and ``lib2to3`` left out), and
* the docstrings and long descriptions (the README in ``*.dist-info/METADATA``) of the distributions installed
  in the environment running this script whose licence metadata is MIT, BSD, Apache-2.0 or PSF, and nothing
  else (a distribution with any other licence, or none recorded, is skipped, as is any distribution or text
  about language models or prompts).

Each row: ``text``, ``source`` (how an agent would read it: docstrings as ``file`` or ``retrieval``, READMEs
as ``web`` or ``file``), ``origin`` (``stdlib:<path>`` or ``<distribution>==<version>:<path>``), ``unit`` (the
module or distribution the text belongs to), ``licence`` and ``half``. The split is by unit: a hash of the
unit's name sends the whole module (stdlib) or distribution to ``train`` or ``eval``, so no module is on both
sides. ``detectors/corpora/build.py`` adds the train half to ``injection/train.jsonl`` as benign rows
(``benign/real``, one ``group`` per unit) and writes the eval half as ``injection/eval-real.jsonl``.

Deterministic: files are read in sorted order, texts deduplicated by their whitespace-collapsed form (first
occurrence kept), at most ``PER_UNIT`` texts per unit chosen by a seeded shuffle, rows sorted. The output
depends on the installed versions, which the ``origin`` of every row records.

    .venv/bin/python detectors/corpora/real.py [--stdlib DIR] [--site DIR] [--out FILE]
"""

from __future__ import annotations

import argparse
import ast
import email.parser
import hashlib
import json
import random
import re
import sys
import sysconfig
from collections.abc import Iterable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "injection" / "real" / "texts.jsonl"
SEED = 20261206
MIN_CHARS, MAX_CHARS = 150, 2500
#: at most this many texts per unit (a stdlib top-level module or package, a distribution), so that numpy or
#: the email package do not make up the corpus
PER_UNIT = 120
#: at most this many README texts per distribution
PER_README = 20
STDLIB_SKIP = {"test", "idlelib", "lib2to3", "site-packages", "__pycache__"}
#: licences accepted, by the normalised name ``licence_of`` returns
PERMISSIVE = {"MIT", "BSD", "Apache-2.0", "PSF-2.0"}
#: anything about language models or prompts is left out (of the distributions' names/summaries and of texts)
OFF_TOPIC = re.compile(
    r"\b(prompts?|llms?|language models?|gpt|chatbots?|openai|anthropic|langchain|assistant|ai agents?)\b", re.I
)
_SPACE = re.compile(r"\s+")
_CLASSIFIER_LICENCE = {
    "MIT License": "MIT",
    "BSD License": "BSD",
    "Apache Software License": "Apache-2.0",
    "Python Software Foundation License": "PSF-2.0",
}


def licence_of(meta: email.message.Message) -> str | None:
    """The distribution's licence as one of ``PERMISSIVE``, or None when it is anything else or unknown.

    Reads ``License-Expression`` (SPDX) first, else the ``License ::`` classifiers (all must be permissive),
    else the first line of ``License``."""
    names: set[str] = set()
    expr = meta.get("License-Expression")
    if expr:
        parts = [p.strip("() ") for p in re.split(r"\s+(?:OR|AND)\s+", expr.strip())]
        for part in parts:
            names.add(_spdx(part) or "?")
        return _one(names, "OR" in expr and "AND" not in expr)
    for value in meta.get_all("Classifier") or []:
        if value.startswith("License ::"):
            last = value.split("::")[-1].strip()
            if last == "OSI Approved":
                continue
            names.add(_CLASSIFIER_LICENCE.get(last, "?"))
    if names:
        return _one(names, False)
    text = (meta.get("License") or "").strip().splitlines()
    return _spdx(text[0].strip()) if text else None


def _spdx(name: str) -> str | None:
    n = name.lower().replace(" license", "").replace(" licence", "").strip()
    if n in {"mit", "mit-0", "expat"}:
        return "MIT"
    if n.startswith("bsd") or n in {"new bsd", "3-clause bsd", "modified bsd"}:
        return "BSD"
    if n in {"apache-2.0", "apache 2.0", "apache software", "apache license 2.0", "apache license, version 2.0"}:
        return "Apache-2.0"
    if n in {"psf-2.0", "psf", "python software foundation", "python-2.0"}:
        return "PSF-2.0"
    return None


def _one(names: set[str], any_of: bool, permissive: set[str] = PERMISSIVE) -> str | None:
    """Dual licences joined by OR need one permissive choice; otherwise every licence must be permissive."""
    ok = sorted(names & permissive)
    if not ok:
        return None
    if any_of or names <= permissive:
        return " / ".join(ok)
    return None


def paragraphs(text: str) -> list[str]:
    """``text`` cut at blank lines into pieces of MIN_CHARS..MAX_CHARS, consecutive paragraphs joined while
    they fit; a paragraph longer than MAX_CHARS is dropped (tables, generated listings)."""
    out: list[str] = []
    cur = ""
    for para in re.split(r"\n\s*\n", text.strip()):
        para = para.strip()
        if not para:
            continue
        if len(para) > MAX_CHARS:
            if len(cur) >= MIN_CHARS:
                out.append(cur)
            cur = ""
            continue
        joined = f"{cur}\n\n{para}" if cur else para
        if len(joined) <= MAX_CHARS:
            cur = joined
        else:
            if len(cur) >= MIN_CHARS:
                out.append(cur)
            cur = para
    if len(cur) >= MIN_CHARS:
        out.append(cur)
    return out


def docstrings(path: Path) -> Iterator[str]:
    """The module, class and function docstrings of one Python file (none when it does not parse)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            doc = ast.get_docstring(node, clean=True)
            if doc:
                yield doc


def _texts(doc: str) -> list[str]:
    if len(doc) <= MAX_CHARS:
        return [doc] if len(doc) >= MIN_CHARS else []
    return paragraphs(doc)


def _pick(key: str, options: tuple[str, str]) -> str:
    return options[hashlib.sha256(key.encode()).digest()[0] % 2]


def half_of(unit: str) -> str:
    """``train`` or ``eval`` for a whole unit (module or distribution), from a hash of its name."""
    return "train" if hashlib.sha256(f"real-split:{unit}".encode()).digest()[0] % 2 == 0 else "eval"


def stdlib_rows(root: Path) -> Iterator[dict[str, str]]:
    """Docstring texts of the standard library under ``root`` (``lib/python3.11``), unit = top-level name."""
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if STDLIB_SKIP & set(rel.parts[:-1]) or rel.parts[0].removesuffix(".py") in STDLIB_SKIP:
            continue
        unit = f"stdlib:{rel.parts[0].removesuffix('.py')}"
        for doc in docstrings(path):
            for text in _texts(doc):
                yield {"text": text, "origin": f"stdlib:{rel.as_posix()}", "unit": unit, "licence": "PSF-2.0",
                       "source": _pick(text, ("file", "retrieval"))}  # fmt: skip


def site_rows(site: Path) -> Iterator[dict[str, str]]:
    """Docstring and README texts of the permissively licensed distributions under ``site``."""
    parser = email.parser.Parser()
    for info in sorted(site.glob("*.dist-info")):
        meta_path = info / "METADATA"
        if not meta_path.is_file():
            continue
        meta = parser.parsestr(meta_path.read_text(encoding="utf-8", errors="replace"))
        name = (meta.get("Name") or "").strip()
        licence = licence_of(meta)
        described = f"{name.replace('_', ' ').replace('-', ' ')} {meta.get('Summary') or ''}"
        if not name or licence is None or OFF_TOPIC.search(described):
            continue
        dist = f"{name.lower()}=={meta.get('Version')}"
        unit = f"pypi:{name.lower().replace('_', '-')}"
        readme = meta.get_payload() or meta.get("Description") or ""
        for text in paragraphs(str(readme))[:PER_README]:
            yield {"text": text, "origin": f"{dist}:METADATA", "unit": unit, "licence": licence,
                   "source": _pick(text, ("web", "file"))}  # fmt: skip
        for path in sorted(_package_files(site, info)):
            for doc in docstrings(path):
                for text in _texts(doc):
                    yield {"text": text, "origin": f"{dist}:{path.relative_to(site).as_posix()}", "unit": unit,
                           "licence": licence, "source": _pick(text, ("file", "retrieval"))}  # fmt: skip


def _package_files(site: Path, info: Path) -> list[Path]:
    """The distribution's own ``.py`` files, from its RECORD (tests left out)."""
    record = info / "RECORD"
    if not record.is_file():
        return []
    files = []
    for line in record.read_text(encoding="utf-8", errors="replace").splitlines():
        rel = line.split(",", 1)[0]
        parts = rel.split("/")
        if rel.endswith(".py") and not ({"tests", "test", "testing", "_vendor"} & set(parts)) and ".." not in parts:
            path = site / rel
            if path.is_file():
                files.append(path)
    return files


def collect(stdlib: Path | None, site: Path | None, seed: int = SEED, per_unit: int = PER_UNIT) -> list[dict[str, str]]:
    """All rows of the standard library and the installed distributions (``collect_rows``)."""
    streams = [stdlib_rows(stdlib) if stdlib else iter(()), site_rows(site) if site else iter(())]
    return collect_rows(streams, seed, per_unit)


def collect_rows(
    streams: Iterable[Iterable[dict[str, str]]], seed: int = SEED, per_unit: int = PER_UNIT
) -> list[dict[str, str]]:
    """Rows deduplicated, off-topic texts dropped, at most ``per_unit`` per unit (seeded), a ``half`` each, sorted."""
    seen: set[str] = set()
    by_unit: dict[str, list[dict[str, str]]] = {}
    for stream in streams:
        for row in stream:
            key = _SPACE.sub(" ", row["text"]).strip().lower()
            if key in seen or OFF_TOPIC.search(row["text"]) or OFF_TOPIC.search(row["origin"]):
                continue
            seen.add(key)
            by_unit.setdefault(row["unit"], []).append(row)
    rows = []
    for unit in sorted(by_unit):
        chosen = by_unit[unit]
        if len(chosen) > per_unit:
            chosen = random.Random(f"{seed}:{unit}").sample(chosen, per_unit)
        rows.extend({**r, "half": half_of(unit)} for r in chosen)
    rows.sort(key=lambda r: (r["unit"], r["origin"], r["text"]))
    return rows


def write(rows: list[dict[str, str]], out: Path) -> str:
    """Write ``rows`` as JSONL (sorted keys); returns the file's sha256."""
    out.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows)
    out.write_text(data, encoding="utf-8")
    return hashlib.sha256(data.encode()).hexdigest()


def main(argv: list[str] | None = None) -> None:
    """Command line: extract, write, print the sha256 and the counts per half."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stdlib", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    ap.add_argument("--site", type=Path, default=Path(sysconfig.get_paths()["purelib"]))
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--per-unit", type=int, default=PER_UNIT, help="at most this many texts per module or distribution")
    args = ap.parse_args(argv)
    report(collect(args.stdlib, args.site, per_unit=args.per_unit), args.out)


def report(rows: list[dict[str, str]], out: Path) -> None:
    """Write ``rows`` to ``out``; print the counts per half, and the sha256 on stderr."""
    digest = write(rows, out)
    for half in ("train", "eval"):
        part = [r for r in rows if r["half"] == half]
        units = {r["unit"] for r in part}
        print(f"{half}: {len(part)} texts, {len(units)} units, {sum(len(r['text']) for r in part):,} characters")
    print(f"{digest}  {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
