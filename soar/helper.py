"""A worker's helper process: the next batch's signature checks and classifier scores, while this one is detected.

Checked on threads of the worker (``verify_threads``), a batch's signatures take both cores, but only while the
batch waits for them: detection needs the GIL, and a thread that has to take the GIL back after every libsodium
call slows the event loop's thread more than it helps (measured: docs/performance.md). A helper process has its
own interpreter. The fast engine begins the next fetched batch before it detects the current one: the worker
decodes it, looks up the signers' keys, normalises its texts and hands the helper two pure computations,
``verify_bytes`` over ``(canonical, sig, public key)`` and the injection classifier's probabilities of the
normalised texts, with the same model. Nothing else moves: every decision (which key, what a verdict or a
score means, every finding and state change) stays in the worker, which checks or scores a batch itself when
the helper is not there or fails under it.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import numpy as np
import structlog

from soar.detect.ml import TextModel
from soar.telemetry.signing import SignatureJob, verify_jobs

log = structlog.get_logger(__name__)

_MODEL: TextModel | None = None  # in the helper process: the worker's injection classifier


def _load(model: TextModel | None) -> None:
    global _MODEL
    _MODEL = model


def _predict(texts: Sequence[str], cues: Sequence[str | None] | None) -> np.ndarray:
    assert _MODEL is not None, "the helper was started without a model"
    return _MODEL.predict(texts, cues)


class HelperProcess:
    """One helper process taking jobs in order; restarted after it dies."""

    def __init__(self, model: TextModel | None = None) -> None:
        self.model = model
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Start the helper and wait until it answers (so the first batch does not pay its start-up)."""
        if self._pool is None:
            # forkserver: the helper is forked from a small server process, not from the worker with its state
            self._pool = ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("forkserver"), initializer=_load, initargs=(self.model,)
            )
        self._pool.submit(verify_jobs, []).result()

    def verify(self, jobs: Sequence[SignatureJob]) -> Future[list[bool]] | None:
        """The helper's verdicts on ``jobs`` (in order), or None when it cannot take them (not started, broken)."""
        return self._submit(verify_jobs, list(jobs))

    def predict(self, texts: Sequence[str], cues: Sequence[str | None] | None) -> Future[np.ndarray] | None:
        """The classifier's probabilities of normalised ``texts`` (``TextModel.predict``), or None (no model)."""
        return self._submit(_predict, list(texts), None if cues is None else list(cues)) if self.model else None

    def _submit(self, fn: Any, *args: Any) -> Future[Any] | None:
        if self._pool is None:
            return None
        try:
            return self._pool.submit(fn, *args)
        except RuntimeError as e:  # BrokenProcessPool is a RuntimeError: the helper died; start a new one
            log.warning("helper process unavailable; restarting it", error=str(e)[:200])
            self.restart()
            return None

    def try_start(self) -> bool:
        """``start``, or say why not and stay stopped: never raises. A helper that cannot start (seen once: the
        resource tracker's pipe broken while the pool was made) must not stop the worker, which then checks and
        scores every batch itself (``verify`` and ``predict`` answer None)."""
        try:
            self.start()
            return True
        except Exception as e:
            log.warning("helper process did not start; the worker checks and scores alone", error=str(e)[:200])
            self.close()
            return False

    def restart(self) -> None:
        """Drop a broken helper and start another (the caller does the batch in hand itself)."""
        self.close()
        self.try_start()

    def close(self) -> None:
        """Stop the helper."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
