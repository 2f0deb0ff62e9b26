"""CLI sub-apps of the detection-quality work: ``soar eval`` and ``soar detectors train``.

Wired into ``soar/cli.py`` with ``cli.add_typer(eval_cli)`` (adds the ``eval`` command itself) and
``cli.add_typer(detectors_cli, name="detectors")``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from soar.config import get_settings
from soar.errors import ContentError, SoarError

if TYPE_CHECKING:
    from soar.detect.base import DetectConfig

eval_cli = typer.Typer(help="Measure detection quality.")
detectors_cli = typer.Typer(help="Detector models: train the classifiers from detectors/corpora.", no_args_is_help=True)

ROWS = [
    ("n", "texts"),
    ("positives", "positives"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("f1", "F1"),
    ("roc_auc", "ROC AUC"),
    ("recall_at_1pct_fpr", "recall at 1% FPR"),
    ("fpr", "FPR at deployed threshold"),
    ("texts_per_s", "throughput (texts/s, one core)"),
]
JSON_KEYS = ("n", "precision", "recall", "f1", "roc_auc", "recall_at_1pct_fpr", "fpr", "texts_per_s")


def _config(detectors: Path | None, options: dict[str, Any] | None = None) -> DetectConfig:
    from soar.detect.base import DetectConfig  # imports scikit-learn: keep `soar --help` quick

    return DetectConfig(detectors_dir=Path(detectors or get_settings().detectors_dir), options=options or {})


def _fmt(key: str, v: object) -> str:
    if v is None:
        return "n/a"
    if key == "texts_per_s":
        return f"{v:,.0f}"
    return f"{v:.4f}" if isinstance(v, float) else str(v)


@eval_cli.command("eval")
def eval_command(
    detector: str = typer.Argument(..., help="injection | memory"),
    data: Path = typer.Option(..., "--data", exists=True, dir_okay=False, help="JSONL rows {text, label, source?}"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object instead of a table"),
    detectors: Path = typer.Option(None, help="detectors dir: rules/ and models/ (default: settings)"),
    model: str = typer.Option(None, help="classifier version to score with, e.g. 2026.12.06-6 (default: newest)"),
    rules_only: bool = typer.Option(False, "--rules-only", help="score with the rules alone, no classifier"),
    by: str = typer.Option(None, help="also per value of this row field (style, source, ...): recall and FPR"),
    ci: bool = typer.Option(False, "--ci", help="90% bootstrap intervals of recall at 1% FPR and ROC AUC"),
    against: str = typer.Option(
        None, help="also score with this classifier version ('rules': none) and report the paired difference"
    ),
) -> None:
    """Score a labelled JSONL file with a detector and report precision, recall, ROC AUC, recall at 1% FPR."""
    if model and rules_only:
        typer.echo("--model and --rules-only exclude each other", err=True)
        raise typer.Exit(2)
    if (against or ci) and detector == "coordination":
        typer.echo("--against and --ci are for the text detectors (injection, memory)", err=True)
        raise typer.Exit(2)
    if detector == "coordination":  # per-scenario detection and false alarms: soar/eval/coordination.py
        from soar.eval.coordination import eval_command as coordination_eval

        coordination_eval(data, as_json, _config(detectors))
        return
    from soar.eval.runner import TEXT_DETECTORS, evaluate

    if detector not in TEXT_DETECTORS:
        typer.echo(f"unknown detector {detector!r}; known: {', '.join(TEXT_DETECTORS)}", err=True)
        raise typer.Exit(2)
    options: dict[str, Any] = {}
    if model or rules_only:
        options[detector] = {"model": model} if model else {"use_model": False}
    other = None
    if against:
        other = _config(detectors, {detector: {"use_model": False} if against == "rules" else {"model": against}})
    try:
        m = evaluate(detector, data, _config(detectors, options), by=by, ci=ci, against=other)
    except (SoarError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from e
    values = m.model_dump()
    if as_json:
        out = {k: values[k] for k in JSON_KEYS}
        out.update(positives=m.positives, threshold=m.threshold, detector=detector, data=str(data), model=m.model)
        if m.by is not None:
            out["by"] = {name: g.model_dump() for name, g in m.by.items()}
        if ci:
            out["ci"] = m.ci
        if m.against is not None:
            out["against"] = m.against.model_dump()
        typer.echo(json.dumps(out))
        return
    scorer = f"model {m.model}" if m.model else "rules only"
    table = Table(title=f"soar eval {detector} --data {data} ({scorer}, threshold {m.threshold})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, label in ROWS:
        table.add_row(label, _fmt(key, values[key]))
        if m.ci is not None and key in m.ci:
            lo, hi = m.ci[key]
            table.add_row(f"  {label}, 90% interval", f"{lo:.4f} - {hi:.4f}")
    if m.against is not None:
        a = m.against
        name = f"model {a.model}" if a.model else "rules only"
        table.add_row(f"recall at 1% FPR with {name}", _fmt("", a.recall_at_1pct_fpr))
        table.add_row("  difference (this - that)", _fmt("", a.difference))
        if a.interval is not None:
            table.add_row("  difference, 90% paired interval", f"{a.interval[0]:.4f} - {a.interval[1]:.4f}")
    Console().print(table)
    if m.by is not None:
        groups = Table(
            title=f"by {by} (recall at the whole file's 1% FPR point and at {m.threshold}; FPR at {m.threshold})"
        )
        groups.add_column(by, overflow="fold")
        for column in ("attacks", "benign", "recall at 1% FPR", "recall", "FPR"):
            groups.add_column(column, justify="right")
        for name, g in m.by.items():
            groups.add_row(name, str(g.positives), str(g.negatives), _fmt("", g.recall_at_1pct_fpr), _fmt("", g.recall),
                           _fmt("", g.fpr))  # fmt: skip
        Console().print(groups)


@detectors_cli.command("train")
def train_command(
    family: list[str] = typer.Option(["injection", "memory"], "--family", help="which classifiers (repeatable)"),
    corpora: Path = typer.Option(None, help="corpora dir (default: <detectors>/corpora)"),
    out: Path = typer.Option(None, help="models dir (default: <detectors>/models)"),
    version: str = typer.Option(None, help="version string (default: UTC timestamp)"),
    detectors: Path = typer.Option(None, help="detectors dir (default: settings)"),
    family_cv: bool = typer.Option(
        False, "--family-cv", help="also cross-validate with whole attack families held out (card: cv.leave_family_out)"
    ),
    param: list[str] = typer.Option(
        [],
        "--param",
        help="KEY=VALUE training parameter, VALUE as JSON or a string (repeatable; e.g. features=soar-hash-v4)",
    ),
) -> None:
    """Fit hashed n-grams + LogisticRegression per family from the corpus; write a versioned .npz and model card."""
    from soar.detect.train import parse_params, train_family

    base = _config(detectors).detectors_dir
    try:
        params = parse_params(param)
    except ContentError as e:
        raise typer.BadParameter(str(e), param_hint="--param") from e
    if family_cv:
        params["family_cv"] = True
    for fam in family:
        try:
            card = train_family(
                fam,
                corpora or base / "corpora",
                out or base / "models",
                version=version,
                detectors_dir=base,
                params=params or None,
            )
        except (ContentError, OSError) as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1) from e
        metrics = card["metrics_classifier_only_on_eval"] or {}
        typer.echo(
            f"{fam}: {card['artifact']} ({card['hashing']['bits']}-bit hashed n-grams, "
            f"{card['data']['train']['n']} training rows); cross-validated on the training split: recall at 1% FPR "
            f"{card['cv']['oof_recall_at_1pct_fpr']}; classifier alone on held-out eval: ROC AUC "
            f"{metrics.get('roc_auc')}, recall at 1% FPR {metrics.get('recall_at_1pct_fpr')}"
        )
        unseen = card["cv"].get("leave_family_out")
        if unseen is not None:
            weakest = sorted(unseen["recall_by_family"].items(), key=lambda kv: kv[1])[:4]
            typer.echo(
                f"{fam}: with whole attack families held out: recall at 1% FPR {unseen['oof_recall_at_1pct_fpr']}; "
                "weakest families " + ", ".join(f"{k} {v}" for k, v in weakest)
            )
