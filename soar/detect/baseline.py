"""The fleet's learned baseline of coordination behaviour: per-agent window features and an IsolationForest.

Each agent's activity is summarised over tumbling windows of event time (``window_s``) into a small feature
row (:data:`FEATURES`): messages sent, distinct peers, first contacts against the learned graph, delegation
depth, delegations of tools the sender lacks, relays of received content, how many agents were sending in
the same second (burst synchrony), tool calls and the peak per-second message rate.

:class:`FleetBaseline` keeps the closed windows of agents that no rule flagged as the fleet's benign history,
fits an IsolationForest on it (scikit-learn) once ``min_history`` rows exist and again every
``retrain_every`` new rows or ``retrain_interval_s`` seconds, and sets the finding threshold from the
training scores (their ``calibration_quantile`` plus ``margin``). Fitting runs in a background thread in
the worker (the hot path keeps scoring with the previous model) and inline in replay and eval, so results
are reproducible.

Scoring one row with scikit-learn costs ~10 ms (per-tree Python overhead), so the fitted forest is compiled
into flat numpy arrays (:class:`CompiledForest`) that walk all trees at once: the same scores (tested),
~50 µs per row.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np
import structlog
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from sklearn.ensemble import IsolationForest

log = structlog.get_logger(__name__)

FEATURES: tuple[str, ...] = (
    "messages",
    "peers",
    "new_peers",
    "delegation_depth",
    "tools_delegated",
    "relays",
    "synchrony",
    "tool_calls",
    "peak_rate",
)


class BaselineOptions(BaseModel):
    """Tuning for the learned baseline (``options["coordination"]["baseline"]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    window_s: float = Field(default=10.0, gt=0, description="tumbling window of event time per agent")
    early_every: int = Field(default=6, ge=1, description="score an open window each time it reaches k*N messages")
    min_history: int = Field(default=500, ge=16, description="benign windows before the first fit")
    max_history: int = Field(default=4096, ge=64)
    retrain_every: int = Field(default=1000, ge=1, description="new history rows between fits")
    retrain_interval_s: float = Field(default=900.0, gt=0, description="wall-clock seconds between fits (worker)")
    background: bool = Field(default=True, description="fit in a thread (worker); False: inline (replay, eval)")
    n_estimators: int = Field(default=100, ge=10)
    max_samples: int = Field(default=256, ge=16)
    calibration_quantile: float = Field(default=0.999, gt=0.5, le=1.0)
    margin: float = Field(default=0.05, ge=0, description="added to the calibrated score threshold")
    min_threshold: float = Field(default=0.6, gt=0, lt=1, description="never flag below this anomaly score")
    novelty_factor: float = Field(default=1.5, gt=1, description="a feature above factor x history max + 1 is novel")
    novel_features: int = Field(default=2, ge=1, description="novel features that flag a window by themselves")
    sync_bucket_s: float = Field(default=1.0, gt=0)
    burst_messages: int = Field(default=3, ge=2, description="messages in one bucket that make an agent bursting")
    random_state: int = 0


def transform(rows: np.ndarray) -> np.ndarray:
    """Counts -> log1p: heavy-tailed counts on a scale where a burst is a few units, not hundreds."""
    return np.log1p(np.asarray(rows, dtype=np.float64))


def _average_path_length(n: np.ndarray) -> np.ndarray:
    """c(n) of Liu et al. (2008), as scikit-learn computes it: the mean depth of an unsuccessful BST search."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros_like(n)
    out[n == 2] = 1.0
    big = n > 2
    out[big] = 2.0 * (np.log(n[big] - 1.0) + np.euler_gamma) - 2.0 * (n[big] - 1.0) / n[big]
    return out


class CompiledForest:
    """A fitted ``IsolationForest`` as flat arrays; ``score`` equals ``-forest.score_samples`` (higher = stranger)."""

    def __init__(self, forest: IsolationForest) -> None:
        trees = [e.tree_ for e in forest.estimators_]
        width = max(t.node_count for t in trees)
        n = len(trees)
        self.left = np.zeros((n, width), dtype=np.intp)
        self.right = np.zeros((n, width), dtype=np.intp)
        self.feature = np.zeros((n, width), dtype=np.intp)
        self.threshold = np.zeros((n, width), dtype=np.float64)
        self.value = np.zeros((n, width), dtype=np.float64)  # depth + c(samples) at leaves
        self.leaf = np.ones((n, width), dtype=np.bool_)
        for i, (t, feats) in enumerate(zip(trees, forest.estimators_features_, strict=True)):
            c = t.node_count
            is_leaf = t.children_left[:c] == -1
            self.leaf[i, :c] = is_leaf
            self.left[i, :c] = np.where(is_leaf, 0, t.children_left[:c])
            self.right[i, :c] = np.where(is_leaf, 0, t.children_right[:c])
            self.feature[i, :c] = np.asarray(feats)[np.maximum(t.feature[:c], 0)]
            self.threshold[i, :c] = t.threshold[:c]
            depth = np.zeros(c, dtype=np.float64)
            for node in range(c):  # children come after their parent in sklearn's node order
                if not is_leaf[node]:
                    depth[t.children_left[node]] = depth[node] + 1
                    depth[t.children_right[node]] = depth[node] + 1
            self.value[i, :c] = depth + _average_path_length(t.n_node_samples[:c])
        self.max_depth = max(t.max_depth for t in trees)
        self.norm = n * float(_average_path_length(np.array([forest.max_samples_]))[0])
        self.rows = np.arange(n)

    def score(self, x: np.ndarray) -> np.ndarray:
        """Anomaly scores in (0, 1) of the (already transformed) rows ``x``: all rows and trees walked at once."""
        x = np.atleast_2d(x).astype(np.float32).astype(np.float64)  # trees compare float32 inputs
        if not len(x):
            return np.empty(0, dtype=np.float64)
        trees = self.rows[None, :]  # (1, T)
        rows = np.arange(len(x))[:, None]  # (R, 1)
        node = np.zeros((len(x), len(self.rows)), dtype=np.intp)
        for _ in range(self.max_depth):
            go_left = x[rows, self.feature[trees, node]] <= self.threshold[trees, node]
            nxt = np.where(go_left, self.left[trees, node], self.right[trees, node])
            node = np.where(self.leaf[trees, node], node, nxt)
        return 2.0 ** (-self.value[trees, node].sum(axis=1) / self.norm)


class FleetModel:
    """One fitted baseline: the compiled forest, its threshold, the history's per-feature maxima."""

    def __init__(
        self, forest: CompiledForest, threshold: float, maxima: np.ndarray, trained_rows: int, version: int
    ) -> None:
        self.forest = forest
        self.threshold = threshold
        self.maxima = maxima
        self.trained_rows = trained_rows
        self.version = version

    def novel(self, rows: np.ndarray, factor: float) -> np.ndarray:
        """Per row, how many features exceed ``factor`` times anything in the history (+1, so 0 -> 2).

        An IsolationForest never splits on a feature that was constant in its sample (burst synchrony is 0
        in nearly every benign window), so a value far outside the history there is invisible to it; this
        count is what lets such a row be flagged.
        """
        return (np.asarray(rows, dtype=np.float64) > factor * self.maxima + 1).sum(axis=1)


def fit_model(history: np.ndarray, options: BaselineOptions, version: int) -> FleetModel:
    """Fit the IsolationForest on transformed history rows and calibrate the threshold on them.

    scikit-learn is imported here, not with the module: scoring needs only numpy (``CompiledForest``), and the
    import costs ~1.3 s of a worker's start-up on a slow machine (the fast worker imports it while its consumer
    groups are joined: ``FastWorker.run``).
    """
    from sklearn.ensemble import IsolationForest

    x = transform(history)
    forest = IsolationForest(
        n_estimators=options.n_estimators,
        max_samples=min(options.max_samples, len(x)),
        random_state=options.random_state,
    ).fit(x)
    compiled = CompiledForest(forest)
    train = -forest.score_samples(x)
    q = float(np.quantile(train, options.calibration_quantile))
    threshold = max(options.min_threshold, q + options.margin)
    # a high quantile, not the max: one undetected burst in the history must not raise the bar for the next
    maxima = np.quantile(np.asarray(history, dtype=np.float64), options.calibration_quantile, axis=0)
    return FleetModel(compiled, threshold, maxima, len(x), version)


class FleetBaseline:
    """History, schedule and current model of one worker's fleet (in-process: a model is not JSON state).

    A restarted worker relearns from live traffic (``min_history`` windows) before it scores again.
    """

    def __init__(self, options: BaselineOptions) -> None:
        self.options = options
        self.history: deque[tuple[float, ...]] = deque(maxlen=options.max_history)
        self.model: FleetModel | None = None
        self.since_fit = 0
        self.fitted_at = 0.0
        self.version = 0
        self.fits = 0
        self.fit_seconds = 0.0  # CPU time of fits (off the hot path in the worker)
        self._pending: Future[FleetModel] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self.sync: dict[int, dict[str, int]] = {}  # second bucket -> agent -> messages sent in it

    # --- burst synchrony ---------------------------------------------------------------------------------------

    def note_send(self, agent_id: str, ts: float) -> tuple[int, int]:
        """Count a message in its time bucket: (this agent's messages in it, agents bursting in it).

        An agent is bursting in a bucket once it sent ``burst_messages`` there; a fleet-wide status round
        (every agent sends one message in the same second) is synchronised but not a burst.
        """
        b = int(ts // self.options.sync_bucket_s)
        counts = self.sync.get(b)
        if counts is None:
            counts = self.sync[b] = {}
            if len(self.sync) > 512:  # keep the last few minutes of buckets
                for old in sorted(self.sync)[:-256]:
                    del self.sync[old]
        mine = counts[agent_id] = counts.get(agent_id, 0) + 1
        if mine < self.options.burst_messages:
            return mine, 0
        return mine, sum(1 for n in counts.values() if n >= self.options.burst_messages)

    # --- history and training ----------------------------------------------------------------------------------

    def learn(self, row: tuple[float, ...]) -> None:
        """Add a benign closed window; fit when the schedule says so."""
        self.history.append(row)
        self.since_fit += 1
        o = self.options
        if len(self.history) < o.min_history:
            return
        due = self.model is None or self.since_fit >= o.retrain_every
        if not due and o.background and time.monotonic() - self.fitted_at >= o.retrain_interval_s:
            due = True
        if due:
            self.retrain()

    def retrain(self) -> None:
        """Fit on the current history (in a thread when ``background``; one fit at a time)."""
        self._collect()
        if self._pending is not None:
            return
        data = np.array(self.history, dtype=np.float64)
        self.since_fit = 0
        self.fitted_at = time.monotonic()
        self.version += 1
        if not self.options.background:
            t0 = time.process_time()
            self._install(fit_model(data, self.options, self.version))
            self.fit_seconds += time.process_time() - t0
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="soar-baseline")
        self._pending = self._pool.submit(fit_model, data, self.options, self.version)

    def _collect(self) -> None:
        if self._pending is not None and self._pending.done():
            try:
                self._install(self._pending.result())
            except Exception:
                log.exception("baseline_fit_failed")
            self._pending = None

    def _install(self, model: FleetModel) -> None:
        with self._lock:
            self.model = model
            self.fits += 1
        log.debug(
            "baseline_fitted", version=model.version, rows=model.trained_rows, threshold=round(model.threshold, 4)
        )

    def current(self) -> FleetModel | None:
        """The model to score with (picks up a finished background fit)."""
        self._collect()
        return self.model

    def score(self, rows: list[tuple[float, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, FleetModel] | None:
        """(scores, flagged, novel feature counts) of ``rows`` under the current model; None before the first fit.

        A row is flagged when its score reaches the calibrated threshold, or when ``novel_features`` of its
        features are far beyond anything in the history (which the forest cannot see where the history was
        constant).
        """
        model = self.current()
        if model is None or not rows:
            return None
        o = self.options
        raw = np.array(rows, dtype=np.float64)
        scores = model.forest.score(transform(raw))
        novel = model.novel(raw, o.novelty_factor)
        flagged = (scores >= model.threshold) | (novel >= o.novel_features)
        return scores, flagged, novel, model


def new_window(start: float) -> dict[str, Any]:
    """An empty per-agent window (JSON-able: it lives in the detector's state)."""
    return {
        "start": start,
        "messages": 0,
        "peers": [],
        "new_peers": 0,
        "delegation_depth": 0,
        "tools_delegated": 0,
        "relays": 0,
        "synchrony": 0,
        "tool_calls": 0,
        "peak_rate": 0,
        "flagged": False,
        "last": None,
        "eids": [],
    }


def window_row(w: dict[str, Any]) -> tuple[float, ...]:
    """The feature row of a window, in :data:`FEATURES` order."""
    return (
        float(w["messages"]),
        float(len(w["peers"])),
        float(w["new_peers"]),
        float(w["delegation_depth"]),
        float(w["tools_delegated"]),
        float(w["relays"]),
        float(w["synchrony"]),
        float(w["tool_calls"]),
        float(w["peak_rate"]),
    )


def is_early(messages: int, every: int) -> bool:
    """Score an open window at every, 2*every, 4*every... messages (a burst is judged while it happens)."""
    if messages < every or messages % every:
        return False
    k = messages // every
    return k & (k - 1) == 0 or math.isclose(k, 0)
