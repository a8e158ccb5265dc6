"""Breast cancer diagnosis: a cheaper model that misses no more malignant tumours.

A screening programme's labs measure 30 features of each fine-needle aspirate of a breast mass
and a small neural network flags the malignant ones for a pathologist. A missed malignant
tumour is the costly mistake, so the quality that must not drop at all is the recall of the
malignant class: the share of malignant tumours the model flags. This script trains the model
on scikit-learn's Wisconsin diagnostic data (569 tumours, 212 malignant), asks thrifty for
the cheapest version whose recall of "malignant" is at least the baseline's (max_drop=0),
prints the bill before and after, and writes the report.

    .venv/bin/python examples/medical.py [--time-budget SECONDS] [--out FOLDER]

To adapt it: load your own rows with ``th.datasets.from_rows`` (or a .csv/.parquet file with
``th.datasets.load(path, target=COLUMN)``), name the class you must not miss in the metric,
and put your own volume in SCREENINGS.
"""

from __future__ import annotations

import _common
import thrifty as th

# 10,000 samples a day across the programme; a copy of the model on each of 200 lab
# workstations; a new version once a month; every version kept ten years for audits.
SCREENINGS = th.Workload(
    inferences_per_month=300_000, replicas=200, deploys_per_month=1, versions_kept=120
)
MUST_NOT_DROP = "recall:malignant"


def accuracy(model_file, tumours) -> float:
    """The share of test tumours the packed model file diagnoses right."""
    scores = th.open_session(th.load(model_file)).run(tumours.test.x)
    return float((scores.argmax(axis=1) == tumours.test.y).mean())


def main() -> None:
    args = _common.command_line(__doc__, out="out/examples/medical", time_budget=120, rows=False)
    tumours = th.datasets.load("breast-cancer", seed=args.seed)
    model = _common.train_baseline(tumours, args.seed)  # early stopping on accuracy
    found = _common.optimize(
        model, tumours, max_drop=0, metric=MUST_NOT_DROP, workload=SCREENINGS, args=args
    )
    _common.print_outcome(found, SCREENINGS)
    before, after = (accuracy(m.path, tumours) for m in (found.baseline, found.best))
    _common.console.print(
        f"test accuracy: {before:.2%} before, {after:.2%} after (recall alone could be kept by "
        "calling every tumour malignant; accuracy would show it)"
    )
    _common.print_report(args.out)


if __name__ == "__main__":
    _common.run(main)
