"""Run one fuzz target under libFuzzer: ``python -m tests.fuzz.run TARGET [libFuzzer flags] [CORPUS_DIR ...]``.

soar's modules are instrumented for coverage (they are imported here first, inside ``instrument_imports``).
With ``--seed-corpus`` the first corpus directory gets the target's seeds before the run. libFuzzer flags pass
through: ``-runs=N``, ``-max_total_time=S``, ``-timeout=S``, ``-artifact_prefix=DIR/`` (see ``-help=1``).
A failing input is saved as ``crash-*`` / ``timeout-*`` under the artifact prefix; the exit status is non-zero.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris
import structlog


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1].startswith("-"):
        raise SystemExit(__doc__)
    name, rest = argv[1], argv[2:]
    with atheris.instrument_imports(include=["soar"]):
        from tests.fuzz import targets
    if name not in targets.TARGETS:
        raise SystemExit(f"unknown target {name!r}; targets: {', '.join(targets.TARGETS)}")
    if "--seed-corpus" in rest:
        rest.remove("--seed-corpus")
        from tests.fuzz.seeds import write_seeds

        corpus = next((a for a in rest if not a.startswith("-")), None)
        if corpus is not None:
            write_seeds(name, Path(corpus))
    structlog.configure(processors=[targets.fail_on_error], cache_logger_on_first_use=False)
    atheris.Setup([argv[0], *rest], targets.TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
