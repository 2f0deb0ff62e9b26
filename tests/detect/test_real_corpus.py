"""Real benign text for the injection corpus (detectors/corpora/real.py) and its place in build.py's files."""

from __future__ import annotations

import email.parser
import hashlib
import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import ROOT

CORPORA = ROOT / "detectors" / "corpora"
PERMISSIVE = {"MIT", "BSD", "Apache-2.0", "PSF-2.0"}


def _load(name: str) -> ModuleType:  # the corpus scripts are content, not package modules
    spec = importlib.util.spec_from_file_location(f"corpus_{name}", CORPORA / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


@pytest.fixture(scope="module")
def real() -> ModuleType:
    return _load("real")


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _doc(n: int, topic: str) -> str:
    return f"{topic.capitalize()} helper number {n}. " + f"Call this function to {topic} the records you pass in. " * 4


def _tree(root: Path) -> tuple[Path, Path]:
    """A small standard library and site-packages: two stdlib modules, an MIT, a GPL and a prompt library."""
    stdlib, site = root / "lib", root / "site"
    (stdlib / "pkg").mkdir(parents=True)
    (stdlib / "test").mkdir()
    (stdlib / "alpha.py").write_text(f'"""{_doc(1, "sort")}"""\n\ndef f():\n    """{_doc(2, "merge")}"""\n')
    (stdlib / "pkg" / "__init__.py").write_text(f'"""{_doc(3, "parse")}"""\n\nclass C:\n    """short"""\n')
    (stdlib / "pkg" / "dup.py").write_text(f'"""{_doc(1, "sort")}"""\n')  # same text as alpha's: dropped
    (stdlib / "test" / "test_alpha.py").write_text(f'"""{_doc(4, "test")}"""\n')
    for name, licence in (("goodlib", "License-Expression: MIT OR Apache-2.0"), ("gpllib", "License: GPL-3.0"),
                          ("promptlib", "License: MIT")):  # fmt: skip
        info = site / f"{name}-1.0.dist-info"
        info.mkdir(parents=True)
        (site / name).mkdir()
        (site / name / "core.py").write_text(f'"""{_doc(5, name)}"""\n')
        summary = "Templates for LLM prompts" if name == "promptlib" else "A library"
        readme = f"{_doc(6, 'install ' + name)}\n\n{_doc(7, 'configure ' + name)}"
        (info / "METADATA").write_text(f"Name: {name}\nVersion: 1.0\nSummary: {summary}\n{licence}\n\n{readme}\n")
        (info / "RECORD").write_text(f"{name}/core.py,,\n{name}-1.0.dist-info/METADATA,,\n")
    return stdlib, site


def test_real_collect_deterministic_with_provenance(real: ModuleType, tmp_path: Path) -> None:
    stdlib, site = _tree(tmp_path)
    rows = real.collect(stdlib, site)
    assert rows == real.collect(stdlib, site)  # same input, same rows in the same order
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert real.write(rows, a) == real.write(real.collect(stdlib, site), b) and a.read_bytes() == b.read_bytes()
    units = {r["unit"] for r in rows}
    assert units == {"stdlib:alpha", "stdlib:pkg", "pypi:goodlib"}  # no tests, no GPL, nothing about prompts
    assert len(rows) == 5 and len({r["text"] for r in rows}) == 5  # the duplicate and the short docstring dropped
    for r in rows:
        assert r["licence"] in {"PSF-2.0", "Apache-2.0 / MIT"} and r["origin"] and r["half"] == real.half_of(r["unit"])
        assert real.MIN_CHARS <= len(r["text"]) <= real.MAX_CHARS
    readme = [r for r in rows if r["origin"] == "goodlib==1.0:METADATA"]
    assert len(readme) == 1 and readme[0]["source"] in {"web", "file"}
    assert {r["source"] for r in rows if r not in readme} <= {"file", "retrieval"}


def test_real_licence_of_accepts_only_permissive(real: ModuleType) -> None:
    def lic(headers: str) -> str | None:
        return real.licence_of(email.parser.Parser().parsestr(f"Name: x\n{headers}\n\n"))

    assert lic("License-Expression: MIT") == "MIT"
    assert lic("License-Expression: MIT OR GPL-3.0") == "MIT"  # a permissive choice is enough under OR
    assert lic("License-Expression: BSD-3-Clause AND Zlib") is None  # every part must be permissive under AND
    assert lic("Classifier: License :: OSI Approved :: BSD License") == "BSD"
    assert lic("Classifier: License :: OSI Approved :: MIT License\n"
               "Classifier: License :: OSI Approved :: GNU General Public License (GPL)") is None  # fmt: skip
    assert lic("License: Apache 2.0") == "Apache-2.0"
    assert lic("License: GPL") is None and lic("") is None


def test_real_split_keeps_each_unit_in_one_half(real: ModuleType) -> None:
    rows = _rows(CORPORA / "injection" / "real" / "texts.jsonl")
    halves: dict[str, set[str]] = {}
    for r in rows:
        halves.setdefault(r["unit"], set()).add(r["half"])
        assert r["half"] == real.half_of(r["unit"])
        assert r["licence"] and set(r["licence"].split(" / ")) <= PERMISSIVE and r["origin"]
    assert all(len(h) == 1 for h in halves.values())
    assert {"train", "eval"} == {h for hs in halves.values() for h in hs}


def test_real_eval_file_is_the_eval_half_only() -> None:
    build = _load("build")
    held_out = _rows(CORPORA / "injection" / "eval-real.jsonl")
    train = build.real_rows("train", None)
    assert held_out == build.real_rows("eval", None) and train
    assert all(r["label"] == 0 and r["style"] == "benign/real" and r["licence"] for r in held_out + train)
    assert not {r["group"] for r in held_out} & {r["group"] for r in train}  # no module or package on both sides
    assert not {r["text"] for r in held_out} & {r["text"] for r in train}
    # a limited volume is a seeded sample of the train half
    some = build.real_rows("train", 100)
    assert len(some) == 100 and some == build.real_rows("train", 100) and all(r in train for r in some)
    assert build.real_rows("train", 0) == []


def test_real_eval_files_unchanged() -> None:
    """The eval files (and train files) hash as the corpus README lists them; eval-real.jsonl is listed too."""
    listed = dict(
        (name, digest)
        for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", (CORPORA / "README.md").read_text(), re.M)
    )
    assert {"injection/eval.jsonl", "injection/eval-direct.jsonl", "injection/eval-indirect.jsonl",
            "injection/eval-real.jsonl", "memory/eval.jsonl"} <= set(listed)  # fmt: skip
    for name, digest in listed.items():
        assert hashlib.sha256((CORPORA / name).read_bytes()).hexdigest() == digest, name
