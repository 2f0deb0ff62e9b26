"""YAML detection rules: ``RuleSpec`` (one rule), ``load_rules`` (a directory, every error collected) and
``RuleSet`` (all of one detector's patterns compiled into a single RE2 set).

A rule file is ``detectors/rules/<tactic>/<slug>.yaml`` holding a list of rules::

    - rule: Ignore previous instructions
      id: 0b6f6c0e-8a55-4d6a-9d1c-2f5b6b0f3c11
      detector: injection
      kinds: [input, tool_result, message]
      patterns: ['\\bignore\\W+(?:all\\W+)?previous\\W+instructions\\b']
      severity: high            # when the text comes from an untrusted source
      trusted_severity: medium  # when it comes from the user/system (default: one step lower)
      confidence: 0.8
      tags: [AML.T0051, LLM01:2025]
      maturity: stable
      description: Classic instruction override.

Patterns are RE2 (linear time, no backreferences or look-around), matched against *normalised*
text (see ``soar.detect.normalize``): lower-case, whitespace collapsed to one space, accents and
look-alike letters folded to ASCII. Keep each match shorter than the detector's chunk overlap.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import re2
import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from soar.errors import ContentError, ContentErrors
from soar.telemetry.events import Source
from soar.telemetry.findings import Severity
from soar.yamldoc import KeyPath, line_of, problem, read_yaml

EventKind = Literal[
    "input", "output", "tool_call", "tool_result", "memory_write", "memory_read", "message", "credential_use",
    "lifecycle",
]  # fmt: skip
Maturity = Literal["stable", "incubating", "sandbox", "deprecated"]
#: detector families a rule may name; a rule's family decides which detector compiles it
RULE_FAMILIES: frozenset[str] = frozenset({"injection", "memory", "exfiltration", "coordination"})
DEFAULT_MATURITIES: frozenset[str] = frozenset({"stable", "incubating"})
_TAG = re.compile(r"^(?:AML\.[A-Z]{1,4}\d{4}(?:\.\d{3})?|LLM\d{2}:\d{4}|ASI\d{2}(?::\d{4})?)$")
_ESCAPE = re.compile(r"\\.")


def _re2_options() -> re2.Options:
    opts = re2.Options()
    opts.max_mem = 64 << 20  # a set of ~50 bounded-repeat patterns needs more than RE2's 8 MB default DFA budget
    return opts


def compile_pattern(pattern: str) -> Any:
    """Compile one rule pattern with RE2; raises ValueError with RE2's reason."""
    try:
        return re2.compile(pattern, _re2_options())
    except re2.error as e:
        reason = e.args[0] if e.args else e
        reason = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        raise ValueError(f"invalid RE2 pattern {pattern!r}: {reason}") from None


def _check_pattern(p: str) -> str:
    if "(?i)" not in p and any(c.isupper() for c in _ESCAPE.sub("", p)):
        raise ValueError("pattern has upper-case letters; text is lower-cased before matching")
    compile_pattern(p)
    return p


Pattern = Annotated[str, AfterValidator(_check_pattern)]
#: a Severity that also accepts its name ("high") in YAML and detector options
SeverityName = Annotated[Severity, BeforeValidator(Severity.parse)]


class RuleSpec(BaseModel):
    """One detection rule (see module docstring for the file format)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str = Field(min_length=3, max_length=200, description="human title")
    id: uuid.UUID
    detector: str
    kinds: list[EventKind] = Field(min_length=1)
    sources: list[Source] | None = Field(default=None, description="only text from these sources (None: any)")
    patterns: list[Pattern] = Field(min_length=1)
    severity: Severity = Field(description="severity when the text comes from an untrusted source")
    trusted_severity: Severity | None = Field(default=None, description="from user/system; default one step lower")
    confidence: float = Field(ge=0.0, le=1.0)
    tags: list[str] = Field(default_factory=list)
    maturity: Maturity = "incubating"
    description: str = ""

    @field_validator("id")
    @classmethod
    def _uuid4(cls, v: uuid.UUID) -> uuid.UUID:
        if v.version != 4:
            raise ValueError("id must be a UUID4")
        return v

    @field_validator("detector")
    @classmethod
    def _family(cls, v: str) -> str:
        if v not in RULE_FAMILIES:
            raise ValueError(f"unknown detector {v!r}; known: {', '.join(sorted(RULE_FAMILIES))}")
        return v

    @field_validator("severity", "trusted_severity", mode="before")
    @classmethod
    def _severity(cls, v: Any) -> Any:
        return None if v is None else Severity.parse(v)

    @field_validator("tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        bad = [t for t in v if not _TAG.match(t)]
        if bad:
            raise ValueError(f"unknown tag format {bad}; use MITRE ATLAS (AML.T0051.001) or OWASP (LLM01:2025, ASI01)")
        return v

    @property
    def trusted(self) -> Severity:
        """Severity when the text comes from a trusted source (user, system)."""
        if self.trusted_severity is not None:
            return self.trusted_severity
        return Severity(max(int(self.severity) - 1, 0))


# --- loading -------------------------------------------------------------------------------------------------


def _errors_for(
    path: Path, index: int, item: dict[str, Any], lines: dict[KeyPath, int], exc: ValidationError
) -> list[ContentError]:
    out = []
    title = item.get("rule", "?")
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        key = loc[0] if loc else ""
        line = line_of(lines, (index, *err["loc"][:2]))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {key!r}"
        out.append(ContentError(f"rule {title!r}: {msg}", source=f"{path}:{line}", field=".".join(loc)))
    return out


def _load_file(path: Path) -> tuple[list[tuple[RuleSpec, int]], list[ContentError]]:
    try:
        data, lines = read_yaml(path)
    except yaml.YAMLError as e:
        message, line = problem(e)
        return [], [ContentError(message, source=f"{path}:{line}")]
    except OSError as e:
        return [], [ContentError(f"cannot read: {e}", source=str(path))]
    if data is None:
        return [], []
    if not isinstance(data, list):
        return [], [ContentError("a rule file must be a list of rules", source=f"{path}:1")]
    rules: list[tuple[RuleSpec, int]] = []
    errors: list[ContentError] = []
    for i, item in enumerate(data):
        line = line_of(lines, (i,))
        if not isinstance(item, dict):
            errors.append(ContentError("each rule must be a mapping", source=f"{path}:{line}", field=f"[{i}]"))
            continue
        try:
            rules.append((RuleSpec.model_validate(item), line))
        except ValidationError as e:
            errors.extend(_errors_for(path, i, item, lines, e))
    return rules, errors


def rule_files(directory: Path) -> list[Path]:
    """Every rule file under ``directory``, sorted."""
    return sorted(p for p in Path(directory).rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def check_rules(directory: Path) -> tuple[list[RuleSpec], list[ContentError]]:
    """Load every rule file, returning all valid rules and every error found (``soar content check``)."""
    rules: list[RuleSpec] = []
    errors: list[ContentError] = []
    seen: dict[uuid.UUID, str] = {}
    directory = Path(directory)
    if not directory.is_dir():
        return [], [ContentError("rules directory not found", source=str(directory))]
    for path in rule_files(directory):
        file_rules, file_errors = _load_file(path)
        errors.extend(file_errors)
        for r, line in file_rules:
            if r.id in seen:
                msg = f"rule {r.rule!r}: duplicate id {r.id} (first used at {seen[r.id]})"
                errors.append(ContentError(msg, source=f"{path}:{line}", field="id"))
            else:
                seen[r.id] = f"{path}:{line}"
                rules.append(r)
    return rules, errors


def load_rules(directory: Path, *, maturities: Collection[str] = DEFAULT_MATURITIES) -> list[RuleSpec]:
    """Rules of the given maturities under ``directory``; raises ContentErrors listing every bad rule."""
    rules, errors = check_rules(directory)
    if errors:
        raise ContentErrors(errors)
    return [r for r in rules if r.maturity in maturities]


def _signature(directory: Path) -> tuple[tuple[str, int, int], ...]:
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in rule_files(directory))


@lru_cache(maxsize=8)
def _cached(directory: str, maturities: frozenset[str], _sig: tuple[tuple[str, int, int], ...]) -> tuple[RuleSpec, ...]:
    return tuple(load_rules(Path(directory), maturities=maturities))


def load_rule_pack(directory: Path, *, maturities: Collection[str] = DEFAULT_MATURITIES) -> list[RuleSpec]:
    """``load_rules`` cached on the files' mtimes, so several detectors share one parse."""
    directory = Path(directory).resolve()
    return list(_cached(str(directory), frozenset(maturities), _signature(directory)))


# --- matching ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """One rule that matched: which pattern, where (in the scanned text) and what."""

    rule: RuleSpec
    pattern: int
    start: int
    end: int
    snippet: str


class RuleSet:
    """All patterns of some rules in ONE ``re2.Set`` (one linear pass), mapped back to their rules.

    ``extra`` patterns ride along in the same set, so one pass over a text also says which of them occur
    (``match_extra``); the injection detector adds the classifier's cue patterns, which saves a second pass.
    A set's answer for one pattern never depends on the other patterns, so the rule matches are the same.
    """

    def __init__(self, rules: Iterable[RuleSpec], extra: Sequence[str] = ()) -> None:
        self.rules = list(rules)
        self._index: list[tuple[RuleSpec, int, Any]] = []
        opts = _re2_options()
        if extra:
            opts.max_mem = 128 << 20
        self._set = re2.Set.SearchSet(opts)
        for rule in self.rules:
            for i, p in enumerate(rule.patterns):
                self._set.Add(p)
                self._index.append((rule, i, compile_pattern(p)))
        self._n_rules = len(self._index)
        for p in extra:
            self._set.Add(p)
        self._empty = not self._index and not extra
        if not self._empty:
            self._set.Compile()

    def __len__(self) -> int:
        return len(self.rules)

    def match(
        self, text: str, *, kind: str | None = None, source: str | None = None, snippet_chars: int = 200
    ) -> list[RuleMatch]:
        """Rules matching ``text`` (first occurrence per pattern, one entry per rule), filtered by kind/source."""
        return self.match_extra(text, kind=kind, source=source, snippet_chars=snippet_chars)[0]

    def match_extra(
        self, text: str, *, kind: str | None = None, source: str | None = None, snippet_chars: int = 200
    ) -> tuple[list[RuleMatch], list[int]]:
        """``match`` and the indices of the ``extra`` patterns that occur in ``text`` (ascending), in one pass."""
        if self._empty or not text:
            return [], []
        hits = self._set.Match(text)
        if not hits:
            return [], []
        out: dict[uuid.UUID, RuleMatch] = {}
        extra: list[int] = []
        for idx in sorted(hits):
            if idx >= self._n_rules:
                extra.append(idx - self._n_rules)
                continue
            rule, pi, rx = self._index[idx]
            if rule.id in out:
                continue
            if kind is not None and kind not in rule.kinds:
                continue
            if source is not None and rule.sources is not None and source not in rule.sources:
                continue
            m = rx.search(text)
            if m is None:  # cannot happen (the set matched), but never trust two engines blindly
                continue
            s, e = m.span()
            out[rule.id] = RuleMatch(rule, pi, s, e, text[s : min(e, s + snippet_chars)])
        return sorted(out.values(), key=lambda rm: rm.start), extra


# --- scoring helpers shared by the rule-driven detectors -------------------------------------------------------


def raise_severity(severity: Severity, steps: int = 1) -> Severity:
    """``severity`` moved ``steps`` up (or down when negative), clamped to info..critical."""
    return Severity(min(max(int(severity) + steps, int(Severity.INFO)), int(Severity.CRITICAL)))


def combined_confidence(confidences: Iterable[float], cap: float = 0.99) -> float:
    """Noisy-OR of independent rule confidences, capped below certainty."""
    miss = 1.0
    for c in confidences:
        miss *= 1.0 - c
    return round(min(1.0 - miss, cap), 3)
