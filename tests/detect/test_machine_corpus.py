"""Real machine output for the injection corpus (detectors/corpora/machine.py) and its place in build.py's files."""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .test_real_corpus import CORPORA, _load, _rows

MACHINE = CORPORA / "injection" / "real" / "machine.jsonl"
#: the held-out formats of eval-tools.jsonl, and the probe's X.509 text: no command or log of machine.py prints them
HELD_OUT = re.compile(r"\b(whois|dig|git|postfix|curl|systemctl|pip|traceroute|openssl|mail)\b")


@pytest.fixture(scope="module")
def machine() -> ModuleType:
    sys.path.insert(0, str(CORPORA))  # machine.py imports real.py as its sibling
    try:
        return _load("machine")
    finally:
        sys.path.remove(str(CORPORA))


def _changelog(pkg: str, n: int) -> str:
    entry = (
        "{pkg} (1.{i}-1) unstable; urgency=medium\n\n  * New upstream release {i}; refresh the patches.\n"
        "  * Install the manual page in section 8 (closes: #10{i}).\n\n"
        " -- Jane Maintainer <jane@example.org>  Mon, 0{i} May 2023 10:00:00 +0200\n"
    )
    return "\n".join(entry.format(pkg=pkg, i=i) for i in range(1, n + 1))


def _system(root: Path) -> None:
    """A small Debian system: an Expat package, a GPL one, and one without a machine-readable copyright file."""
    doc, dpkg, etc = root / "doc", root / "dpkg", root / "etc"
    (dpkg / "info").mkdir(parents=True)
    etc.mkdir()
    status = []
    for pkg, licence in (("goodtool", "Expat"), ("gpltool", "GPL-2+"), ("oldtool", None)):
        (doc / pkg).mkdir(parents=True)
        head = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n" if licence else ""
        stanza = f"Files: *\nCopyright: 2020 Jane Maintainer <jane@example.org>\nLicense: {licence or 'MIT'}\n"
        notice = "Permission is hereby granted, free of charge, to any person obtaining a copy of this software. " * 3
        (doc / pkg / "copyright").write_text(f"{head}{stanza}\n{notice}\n")
        (doc / pkg / "changelog.Debian.gz").write_bytes(gzip.compress(_changelog(pkg, 6).encode()))
        description = f"Description: a tool that does {pkg} things\n Longer text about {pkg}, for administrators."
        status.append(f"Package: {pkg}\nStatus: install ok installed\nVersion: 1.6-1\n{description}\n" + "X: y\n" * 10)
        conf = etc / f"{pkg}.conf"
        conf.write_text("# Set the port the daemon listens on. Do not change it unless you know why.\n" * 4)
        (dpkg / "info" / f"{pkg}.conffiles").write_text(f"{conf}\n")
    (dpkg / "status").write_text("\n".join(status))


def test_machine_collect_reads_permissive_packages_only(
    machine: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _system(tmp_path)
    monkeypatch.setattr(machine, "DOC", tmp_path / "doc")
    monkeypatch.setattr(machine, "DPKG", tmp_path / "dpkg")
    log = tmp_path / "daemon.log"
    log.write_text("".join(f"2026-12-07 09:00:{i:02d} [info] worker {i} started, depth {i * 3}\n" for i in range(60)))
    listing = ["printf", "%s\\n" * 40, *[f"file-{i}.txt" for i in range(40)]]
    monkeypatch.setattr(machine, "COMMANDS", {"listing": listing})
    monkeypatch.setattr(machine, "LOGS", {"daemon": str(log)})
    rows = machine.collect()
    assert rows == machine.collect()  # deterministic
    units = {r["unit"] for r in rows}
    assert units == {"deb:goodtool", "cmd:listing", "cmd:log-daemon"}  # no GPL package, no pre-DEP-5 file
    kinds = {r["origin"].split("/")[-1] for r in rows if r["unit"] == "deb:goodtool"}
    assert kinds == {"dpkg -s goodtool", "changelog.Debian.gz", "copyright", "conffile of goodtool"}
    for r in rows:
        assert r["half"] in {"train", "eval"} and machine.MIN_CHARS <= len(r["text"]) <= machine.MAX_CHARS
        assert r["licence"] == ("MIT" if r["unit"].startswith("deb:") else "none (machine state)")
        assert r["source"] in {"tool", "file"}
    changelogs = [r["text"] for r in rows if r["origin"].endswith("changelog.Debian.gz")]
    assert changelogs and all(t.rstrip().splitlines()[-1].startswith(" -- Jane") for t in changelogs)


def test_machine_licence_of_reads_the_files_star_stanza(machine: ModuleType) -> None:
    head = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"

    def lic(licence: str, files: str = "*") -> str | None:
        return machine.licence_of(f"{head}Files: {files}\nCopyright: someone\nLicense: {licence}\n")

    assert lic("Expat") == "MIT" and lic("BSD-3-clause") == "BSD" and lic("Apache-2.0") == "Apache-2.0"
    assert lic("GPL-2+") is None and lic("LGPL-2.1+") is None
    assert lic("GPL-2+ or MIT") == "MIT"  # one permissive choice is enough under "or"
    assert lic("BSD-3-clause and GPL-2") is None  # every part must be permissive under "and"
    assert lic("Expat", files="src/*") is None  # only the package's main licence counts
    assert machine.licence_of("This package was debianized by someone.\nLicense: MIT\n") is None  # not DEP-5


def test_machine_line_runs_cut_listings(machine: ModuleType) -> None:
    text = "\n".join(f"-rw-r--r-- 1 root root {i:6d} Dec  7 09:15 file-{i}" for i in range(200))
    runs = machine.line_runs(text)
    assert len(runs) > 1 and "\n".join(runs) == text  # nothing lost, nothing reordered
    assert all(machine.MIN_CHARS <= len(r) <= 1800 for r in runs)


def test_machine_file_on_main(machine: ModuleType) -> None:
    """The committed file: one half per unit, a licence on every row, no secrets, no held-out format read."""
    rows = _rows(MACHINE)
    real = _load("real")
    halves: dict[str, set[str]] = {}
    for r in rows:
        halves.setdefault(r["unit"], set()).add(r["half"])
        assert r["half"] == real.half_of(r["unit"]) and r["licence"] and r["origin"]
        assert r["unit"].startswith("deb:") or (r["unit"].startswith("cmd:") and not HELD_OUT.search(r["origin"]))
        assert not machine.SECRET.search(r["text"])
    assert all(len(h) == 1 for h in halves.values()) and len(halves) > 100
    assert {"train", "eval"} == {h for hs in halves.values() for h in hs}


def test_machine_eval_file_and_training_wave() -> None:
    build = _load("build")
    held_out = _rows(CORPORA / "injection" / "eval-machine.jsonl")
    train = build.real_rows("train", None, path=build.MACHINE_TEXTS, style="benign/machine")
    assert held_out == build.real_rows("eval", None, path=build.MACHINE_TEXTS, style="benign/machine") and train
    assert all(r["label"] == 0 and r["style"] == "benign/machine" and r["licence"] for r in held_out + train)
    assert not {r["group"] for r in held_out} & {r["group"] for r in train}  # no package or command on both sides
    # the shipped train.jsonl holds the train half, and nothing of the eval half
    shipped = _rows(CORPORA / "injection" / "train.jsonl")
    assert [r for r in shipped if r["style"] == "benign/machine"] == train
    # the development pair splits the train half again, by unit
    fit = build.real_rows("dev-train", None, path=build.MACHINE_TEXTS, style="benign/machine")
    dev = build.real_rows("dev", None, path=build.MACHINE_TEXTS, style="benign/machine")
    assert fit and dev and sorted(fit + dev, key=json.dumps) == sorted(train, key=json.dumps)
    assert not {r["group"] for r in fit} & {r["group"] for r in dev}


def test_machine_wave_is_left_out_only_when_asked(tmp_path: Path) -> None:
    build = _load("build")
    plain = build.build(tmp_path / "a", dev=True, machine_real=False)
    waved = build.build(tmp_path / "b", dev=True)
    assert {k: v for k, v in plain.items() if k != "injection/train.jsonl"} == {
        k: v for k, v in waved.items() if k != "injection/train.jsonl"
    }
    a, b = _rows(tmp_path / "a" / "injection" / "train.jsonl"), _rows(tmp_path / "b" / "injection" / "train.jsonl")
    assert b[: len(a)] == a and b[len(a) :] == build.real_rows("dev-train", None, path=build.MACHINE_TEXTS,
                                                               style="benign/machine")  # fmt: skip
