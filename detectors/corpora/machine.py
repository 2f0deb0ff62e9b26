"""Real machine output with provenance: what an agent reads when it runs commands and opens files on a Debian host.

Writes ``injection/real/machine.jsonl``: benign texts (150-2,500 characters) read off the machine that runs this
script, in two kinds of unit:

* ``deb:<package>``, for each installed Debian package whose ``copyright`` file is machine-readable (DEP-5) and
  licenses ``Files: *`` under a permissive licence (MIT/Expat, BSD, ISC, Apache-2.0, Zlib, PostgreSQL, curl,
  BSL-1.0, public domain; anything else, or no DEP-5 file, and the package is skipped): its ``dpkg -s`` record,
  entries of its ``changelog.Debian.gz`` (author addresses, dates, short messages), stanzas and notices of its
  ``copyright`` file, its configuration files under ``/etc`` (comment-heavy text addressed to administrators),
  its README/NEWS files and its manual pages as ``man`` prints them (instructions for people);
* ``cmd:<name>``, for the output of a fixed list of read-only commands (``ps``, ``df``, ``ip``, ``ss``,
  ``dpkg -l``, ``ls -l`` of system directories, ...) and the service logs under ``/var/log`` (dpkg, apt,
  PostgreSQL, Redis, RabbitMQ, Mosquitto, NATS): facts of this machine, no licence to record.

None of the held-out machine-output formats of ``eval-tools.jsonl`` (WHOIS, ``dig``, ``git log``, postfix logs,
HTTP headers, ``systemctl status``, ``pip show``, ``traceroute``) is read, nor X.509 text (a format of the
formats probe, ``detectors/experiments/formats_probe.py``). Texts that look like they hold a secret (a private
key, a password assignment) are dropped. The split is by unit with ``real.py``'s hash, so a package or a
command is wholly on one side; at most ``PER_UNIT`` texts per unit. ``detectors/corpora/build.py`` adds the
train half to ``injection/train.jsonl`` (since ``-10``; ``--no-machine-real`` leaves it out) and always writes
the eval half as ``injection/eval-machine.jsonl``.

The output depends on the machine; every row's ``origin`` says where it was read. The file on main was written
on a machine of the project's CI kind (Debian 12).

    .venv/bin/python detectors/corpora/machine.py [--out FILE]
"""

from __future__ import annotations

import argparse
import gzip
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from real import HERE, MAX_CHARS, MIN_CHARS, _one, collect_rows, paragraphs, report

OUT = HERE / "injection" / "real" / "machine.jsonl"
PER_UNIT = 32
#: at most this many texts of one kind (changelog, copyright, config, docs, manual) per package
PER_KIND = 8
#: at most this many manual pages per package
MAN_PAGES = 3
DOC = Path("/usr/share/doc")
DPKG = Path("/var/lib/dpkg")
#: DEP-5 licence short names accepted (lower case), by the name recorded
PERMISSIVE = {
    "expat": "MIT", "mit": "MIT", "mit/x11": "MIT", "x11": "MIT", "isc": "ISC", "zlib": "Zlib",
    "apache-2.0": "Apache-2.0", "bsd-2-clause": "BSD", "bsd-3-clause": "BSD", "bsd-4-clause": "BSD",
    "postgresql": "PostgreSQL", "curl": "curl", "bsl-1.0": "BSL-1.0", "public-domain": "public-domain",
    "psf-2.0": "PSF-2.0", "python-2.0": "PSF-2.0",
}  # fmt: skip
#: read-only commands whose output is kept (unit ``cmd:<name>``); each is run with a timeout, stdout only
COMMANDS: dict[str, list[str]] = {
    "ps-ef": ["ps", "-ef"],
    "ps-aux": ["ps", "aux"],
    "df": ["df", "-h"],
    "mount": ["mount"],
    "ip-addr": ["ip", "addr"],
    "ip-route": ["ip", "route"],
    "ss": ["ss", "-tln"],
    "uname": ["uname", "-a"],
    "dpkg-l": ["dpkg", "-l"],
    "ls-etc": ["ls", "-l", "/etc"],
    "ls-usr-bin": ["ls", "-l", "/usr/bin"],
    "ls-usr-lib": ["ls", "-la", "/usr/lib"],
    "ls-var-log": ["ls", "-la", "/var/log"],
    "getent-passwd": ["getent", "passwd"],
    "getent-services": ["getent", "services"],
    "os-release": ["cat", "/etc/os-release"],
    "lscpu": ["lscpu"],
    "free": ["free", "-m"],
    "env-locale": ["locale"],
}
#: service logs (unit ``cmd:log-<name>``), read as files
LOGS = {
    "dpkg": "/var/log/dpkg.log",
    "apt-history": "/var/log/apt/history.log",
    "apt-term": "/var/log/apt/term.log",
    "alternatives": "/var/log/alternatives.log",
    "postgresql": "/var/log/postgresql/postgresql-15-main.log",
    "redis": "/var/log/redis/redis-server.log",
    "rabbitmq": "/var/log/rabbitmq",
    "mosquitto": "/var/log/mosquitto/mosquitto.log",
    "nats": "/var/log/nats-server.log",
    "fontconfig": "/var/log/fontconfig.log",
}
SECRET = re.compile(r"PRIVATE KEY|(?:passw(?:or)?d|secret|token)\s*[=:]\s*['\"]?[^\s'\"#]{4,}", re.I)
_ENTRY_END = re.compile(r"^ -- .+$", re.M)


def licence_of(copyright_text: str) -> str | None:
    """The permissive licence of ``Files: *`` in a DEP-5 copyright file, or None (not DEP-5, or not permissive).

    ``A or B`` needs one permissive name; ``A and B`` (or ``A, B``, or a mix) needs all to be (``real._one``)."""
    if not copyright_text.startswith("Format:"):
        return None
    for stanza in re.split(r"\n\s*\n", copyright_text):
        if re.search(r"^Files:\s*\*\s*$", stanza, re.M):
            m = re.search(r"^License:\s*(.+)$", stanza, re.M)
            if not m:
                return None
            expr = m.group(1).strip().lower()
            names = {PERMISSIVE.get(p.strip(), "?") for p in re.split(r"\s+(?:or|and)\s+|,\s*", expr)}
            any_of = " or " in expr and not re.search(r"\band\b|,", expr)
            return _one(names, any_of, set(PERMISSIVE.values()))
    return None


def _read(path: Path) -> str:
    """A text file (gzip by suffix), or '' when it is unreadable or not UTF-8."""
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile):
        return ""


def _sized(text: str) -> list[str]:
    """``text`` as it is when it fits, else cut at blank lines (``real.paragraphs``), else in runs of lines."""
    text = text.strip("\n")
    if MIN_CHARS <= len(text) <= MAX_CHARS:
        return [text]
    pieces = paragraphs(text) if "\n\n" in text else []
    return pieces or line_runs(text)


def line_runs(text: str, limit: int = 1800) -> list[str]:
    """Consecutive lines joined while they fit in ``limit`` characters (listings and logs have no blank lines)."""
    out: list[str] = []
    cur: list[str] = []
    size = 0
    for line in text.splitlines():
        if size + len(line) + 1 > limit and cur:
            out.append("\n".join(cur))
            cur, size = [], 0
        if len(line) <= limit:
            cur.append(line)
            size += len(line) + 1
    if cur:
        out.append("\n".join(cur))
    return [t for t in out if len(t) >= MIN_CHARS]


def changelog_entries(text: str) -> list[str]:
    """A Debian changelog cut after each entry's trailer line (`` -- name <address>  date``), entries joined
    while they fit."""
    entries, start = [], 0
    for m in _ENTRY_END.finditer(text):
        entries.append(text[start : m.end()].strip("\n"))
        start = m.end()
    return paragraphs("\n\n".join(e.replace("\n\n", "\n") for e in entries))


def dpkg_records() -> dict[str, str]:
    """Each installed package's record in ``/var/lib/dpkg/status`` (what ``dpkg -s`` prints), by name."""
    out: dict[str, str] = {}
    for stanza in _read(DPKG / "status").split("\n\n"):
        m = re.match(r"Package:\s*(\S+)", stanza)
        if m and "Status: install ok installed" in stanza:
            out[m.group(1)] = stanza.strip()
    return out


def _listed(pkg: str, kind: str) -> list[Path]:
    """The paths of ``/var/lib/dpkg/info/<pkg>[:arch].<kind>`` (``conffiles``, ``list``)."""
    for name in (pkg, *(p.name.removesuffix(f".{kind}") for p in DPKG.glob(f"info/{pkg}:*.{kind}"))):
        listing = DPKG / "info" / f"{name}.{kind}"
        if listing.is_file():
            return [Path(line.split()[0]) for line in _read(listing).splitlines() if line.strip()]
    return []


def manual(path: Path) -> str:
    """A manual page as ``man`` prints it to a pipe, 80 columns (or '' when it does not render)."""
    env = {"MANWIDTH": "80", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    try:
        done = subprocess.run(["man", "-P", "cat", "-l", str(path)], capture_output=True, env=env, timeout=20)
        return done.stdout.decode("utf-8", errors="replace") if done.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired):
        return ""


def package_rows(records: dict[str, str]) -> Iterator[dict[str, str]]:
    """The texts of every permissively licensed package (``deb:<name>``)."""
    for doc in sorted(DOC.iterdir()):
        pkg = doc.name
        copyright_text = _read(doc / "copyright")
        licence = licence_of(copyright_text)
        if licence is None or pkg not in records:
            continue
        unit = f"deb:{pkg}"

        def row(text: str, origin: str, source: str, unit: str = unit, licence: str = licence) -> dict[str, str]:
            return {"text": text, "origin": origin, "unit": unit, "licence": licence, "source": source}

        for text in _sized(records[pkg]):
            yield row(text, f"dpkg -s {pkg}", "tool")
        for text in changelog_entries(_read(doc / "changelog.Debian.gz"))[:PER_KIND]:
            yield row(text, f"{doc}/changelog.Debian.gz", "file")
        for text in paragraphs(copyright_text)[:PER_KIND]:
            yield row(text, f"{doc}/copyright", "file")
        config = [t for path in _listed(pkg, "conffiles") if path.is_file() for t in _sized(_read(path))]
        for text in config[:PER_KIND]:
            yield row(text, f"conffile of {pkg}", "file")
        docs = [p for p in sorted(doc.iterdir()) if re.match(r"(README|NEWS)", p.name) and p.is_file()]
        for text in [t for p in docs for t in paragraphs(_read(p))][:PER_KIND]:
            yield row(text, f"{doc}/README or NEWS", "file")
        pages = [p for p in _listed(pkg, "list") if re.match(r"/usr/share/man/man\d/", str(p)) and p.is_file()]
        for page in pages[:MAN_PAGES]:
            for text in paragraphs(manual(page))[:PER_KIND]:
                yield row(text, f"man {page.name}", "tool")


def command_rows() -> Iterator[dict[str, str]]:
    """The output of ``COMMANDS`` and the tails of ``LOGS`` (``cmd:<name>``, no licence: machine state)."""
    for name, argv in COMMANDS.items():
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False).stdout
        except (OSError, subprocess.TimeoutExpired):
            continue
        for text in line_runs(out):
            yield {"text": text, "origin": " ".join(argv), "unit": f"cmd:{name}", "licence": "none (machine state)",
                   "source": "tool"}  # fmt: skip
    for name, where in LOGS.items():
        path = Path(where)
        files = sorted(p for p in path.rglob("*.log") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            for text in line_runs(_read(file))[-PER_UNIT:]:
                yield {"text": text, "origin": str(file), "unit": f"cmd:log-{name}", "licence": "none (machine state)",
                       "source": "file"}  # fmt: skip


def collect(per_unit: int = PER_UNIT) -> list[dict[str, str]]:
    """All rows: packages, then commands and logs; secrets dropped; ``real.collect_rows`` does the rest."""
    streams = [package_rows(dpkg_records()), command_rows()]
    return collect_rows(((r for r in s if not SECRET.search(r["text"])) for s in streams), per_unit=per_unit)


def main(argv: list[str] | None = None) -> None:
    """Command line: read the machine, write, print the sha256 and the counts per half."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--per-unit", type=int, default=PER_UNIT, help="at most this many texts per package or command")
    args = ap.parse_args(argv)
    report(collect(args.per_unit), args.out)


if __name__ == "__main__":
    main()
