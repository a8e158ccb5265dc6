"""Quality metrics, named by text: ``accuracy``, ``f1``, ``auc``, ``recall:CLASS``,
``precision:CLASS`` and ``f1:CLASS`` for classes; ``rmse`` and ``mae`` for values; and for
embeddings, agreement with the original model's vectors: ``spearman`` (rank correlation of
the pairwise cosine similarities), ``cosine`` (mean cosine to the original's vector) and
``recall@K`` (share of each row's K nearest neighbours kept).

A metric that is a share (accuracy, F1, AUC, recall, precision) loses quality in percentage
points; an error (RMSE, MAE) in its own units. ``CLASS`` is a class name of the data set or its
index, e.g. ``recall:malignant``. Scores come from scikit-learn's ``sklearn.metrics``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from thrifty.errors import DataError, DataMismatch

if TYPE_CHECKING:  # numpy loads with the first score, not with a metric's name (the HTML page)
    import numpy as np

# name -> (task, higher is better, takes a class)
KINDS = {
    "accuracy": ("classification", True, False),
    "f1": ("classification", True, True),
    "auc": ("classification", True, False),
    "recall": ("classification", True, True),
    "precision": ("classification", True, True),
    "rmse": ("regression", False, False),
    "mae": ("regression", False, False),
    "spearman": ("embedding", True, False),
    "cosine": ("embedding", True, False),
    "recall@": ("embedding", True, False),  # written recall@K, e.g. recall@10
}
DEFAULT = {"classification": "accuracy", "regression": "rmse", "embedding": "spearman"}
AGREEMENT_ROWS = 1000  # rows whose pairwise similarities spearman and recall@K compare


@dataclass(frozen=True)
class Metric:
    """A metric as written (``recall:malignant``), and how to compare two values of it."""

    spec: str

    @property
    def name(self) -> str:
        head = self.spec.partition(":")[0]
        return "recall@" if head.startswith("recall@") else head

    @property
    def higher_is_better(self) -> bool:
        return KINDS[self.name][1]

    @property
    def is_share(self) -> bool:
        """A share in [0, 1], whose drops are counted in percentage points."""
        return self.higher_is_better

    @property
    def steering(self) -> Metric:
        """The metric that training's early stopping and pruning's scan follow. A one-sided
        share (recall, precision) is maxed by a degenerate model (every row that class, or
        none), so they follow F1 of the same class; the budget is still checked on this one."""
        if self.name in ("recall", "precision"):
            return Metric("f1:" + self.spec.partition(":")[2])
        return self

    def drop(self, baseline: float, ours: float) -> float:
        """Quality lost against ``baseline``: percentage points for shares, units for errors."""
        lost = baseline - ours if self.higher_is_better else ours - baseline
        return lost * 100 if self.is_share else lost

    def better(self, value: float) -> float:
        """``value`` signed so that higher is better (for early stopping)."""
        return value if self.higher_is_better else -value

    def format(self, value: float) -> str:
        """A value as every command shows it: a share in percent (``90.14%``), an error as a
        plain number of four significant digits (``0.3127``, ``1,234``)."""
        if self.is_share:
            return f"{value:.2%}"
        value = float(f"{value:.4g}")  # rounded first: 0.099996 reads 0.1000, not 0.10000
        if not value or not math.isfinite(value):
            return f"{value:g}"
        return f"{value:,.{max(0, 3 - math.floor(math.log10(abs(value))))}f}"

    def format_change(self, before: float, after: float) -> str:
        """From ``before`` to ``after``: percentage points for a share, units for an error."""
        change = after - before
        if self.is_share:
            return f"{100 * change:+.2f} points"
        return ("-" if change < 0 else "+") + self.format(abs(change))


def parse(spec: str, task: str, classes: Sequence[str] | int | None = None) -> Metric:
    """Check ``spec`` against the task and its classes; a clear error names what fits."""
    name = Metric(spec).name
    which = spec.partition(":")[2]
    if name == "recall@" and not spec[len(name) :].isdigit():
        raise DataError(f"metric {spec!r}: write recall@K with K a whole number, e.g. recall@10")
    if name not in KINDS:
        raise DataError(
            f"unknown metric {spec!r}: choose one of {', '.join(KINDS)}K "
            "(f1, recall and precision take a class: recall:CLASS)"
        )
    kind, _, takes_class = KINDS[name]
    if kind != task:
        fitting = ", ".join(n + "K" * n.endswith("@") for n, k in KINDS.items() if k[0] == task)
        raise DataError(f"metric {name!r} is for {kind}; this data is {task}: use {fitting}")
    if which and not takes_class:
        raise DataError(f"metric {name!r} takes no class; write {name}")
    if not which and name in ("recall", "precision"):
        raise DataError(f"metric {name!r} needs a class: write {name}:CLASS, e.g. {name}:1")
    if which:
        class_index(which, classes)
    return Metric(spec)


def score(metric: Metric, out: np.ndarray, y: np.ndarray, classes: Sequence[str] | int | None):
    """``metric`` of model outputs ``out`` (scores, probabilities, labels or values) against
    targets ``y``."""
    import numpy as np
    from sklearn import metrics

    if KINDS[metric.name][0] == "embedding":
        return agreement(metric, out, y)
    if metric.name == "rmse":
        return float(np.sqrt(np.mean((_values(out, y) - y) ** 2)))
    if metric.name == "mae":
        return float(metrics.mean_absolute_error(y, _values(out, y)))
    count = classes if isinstance(classes, int) or classes is None else len(classes)
    if metric.name == "auc":
        return _auc(out, y, count)
    labels = to_labels(out, count)
    if metric.name == "accuracy":
        return float(np.mean(labels == y))
    which = metric.spec.partition(":")[2]
    if not which and count not in (None, 2):  # F1 over many classes: their plain mean
        return float(metrics.f1_score(y, labels, average="macro", zero_division=0))
    positive = class_index(which, classes) if which else 1
    function = {"f1": metrics.f1_score, "recall": metrics.recall_score,
                "precision": metrics.precision_score}[metric.name]  # fmt: skip
    return float(function(y == positive, labels == positive, zero_division=0))


def class_index(which: str, classes: Sequence[str] | int | None) -> int:
    """The index of a class given by name or index."""
    names = [str(i) for i in range(classes)] if isinstance(classes, int) else list(classes or [])
    if which in names:
        return names.index(which)
    if which.isdigit() and (not names or int(which) < len(names)):
        return int(which)
    raise DataError(f"no class {which!r} in this data: its classes are {', '.join(names)}")


def to_labels(out: np.ndarray, classes: int | None) -> np.ndarray:
    """Class labels from scores (N x C), one sigmoid probability (N x 1), or labels (N,)."""
    import numpy as np

    if out.ndim == 1 and np.issubdtype(out.dtype, np.integer):
        return out
    scores = out.reshape(len(out), -1)
    if scores.shape[1] == 1 and classes == 2:
        return (scores[:, 0] > 0.5).astype(np.int64)
    if classes is not None and scores.shape[1] != classes:
        raise DataMismatch(
            f"the model gives {scores.shape[1]} scores per row but the data has {classes} classes; "
            "pass data made for this model"
        )
    return scores.argmax(axis=1)


def _auc(out: np.ndarray, y: np.ndarray, classes: int | None) -> float:
    """Area under the ROC curve: of class 1's score for two classes, else one class against the
    rest, averaged over classes."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    if out.ndim == 1 and np.issubdtype(out.dtype, np.integer):
        raise DataMismatch("AUC needs scores, but the model gives class labels: use accuracy or f1")
    scores = out.reshape(len(out), -1).astype(np.float64)
    try:
        if scores.shape[1] <= 2:
            positive = scores[:, -1] - (scores[:, 0] if scores.shape[1] == 2 else 0)
            return float(roc_auc_score(y, positive))
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        probabilities = shifted / shifted.sum(axis=1, keepdims=True)
        return float(roc_auc_score(y, probabilities, multi_class="ovr"))
    except ValueError as error:  # one class only in these rows, or labels past the scores
        raise DataMismatch(f"AUC cannot be taken on these rows: {error}") from error


def _values(out: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The model's values shaped as the targets: one a row, or a vector a row (N x k)."""
    import numpy as np

    values = out.reshape(len(y), -1)
    width = 1 if y.ndim == 1 else y.shape[1]
    if values.shape[1] != width:
        raise DataMismatch(
            f"a regression model must give {width} value{'s' if width > 1 else ''} per row, as "
            f"the targets have; it gives {values.shape[1]}: pass a model and targets that match"
        )
    return values.reshape(y.shape).astype(np.float64)


def agreement(metric: Metric, out: np.ndarray, reference: np.ndarray) -> float:
    """How closely a model's vectors agree with the original's (``reference``), row for row.

    ``spearman`` and ``recall@K`` compare the geometry of the first ``AGREEMENT_ROWS`` rows
    (half a million pairs): what retrieval and clustering see. ``cosine`` averages over all.
    """
    import numpy as np

    ours, theirs = (_unit(v) for v in (out.reshape(len(reference), -1), reference))
    if ours.shape != theirs.shape:
        raise DataMismatch(
            f"the model gives vectors of {ours.shape[1]} but the original's are {theirs.shape[1]}"
            " wide; an embedding is compared with the model it came from"
        )
    if metric.name == "cosine":
        return float(np.mean(np.sum(ours * theirs, axis=1)))
    ours, theirs = ours[:AGREEMENT_ROWS], theirs[:AGREEMENT_ROWS]
    similar, original = ours @ ours.T, theirs @ theirs.T
    if metric.name == "spearman":
        from scipy.stats import spearmanr

        pairs = np.triu_indices(len(ours), k=1)
        return float(spearmanr(similar[pairs], original[pairs]).statistic)
    k = min(int(metric.spec.removeprefix("recall@")), len(ours) - 1)
    np.fill_diagonal(similar, -np.inf)
    np.fill_diagonal(original, -np.inf)
    kept = [len(set(a) & set(b)) for a, b in zip(_nearest(similar, k), _nearest(original, k),
                                                   strict=True)]  # fmt: skip
    return float(np.mean(kept) / k)


def _unit(vectors: np.ndarray) -> np.ndarray:
    import numpy as np

    vectors = vectors.astype(np.float64)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _nearest(similar: np.ndarray, k: int) -> np.ndarray:
    import numpy as np

    return np.argpartition(-similar, k - 1, axis=1)[:, :k]
