"""Credit default: score a bank's whole portfolio every night with a cheaper model.

A bank estimates, for every card holder, the chance that they default on their debt, from their
balance, their income and whether they are a student (ISLP's Default data: 10,000 customers,
333 of whom defaulted). Defaults are rare (about 3%), so accuracy says little (predicting "no"
for everyone scores 97%); the model is judged by the area under its ROC curve (AUC), which asks
how well it ranks defaulters above the rest. This script trains the model, asks thrifty for the
cheapest version within half a point of the baseline's AUC, prices it as a batch job run where
the data lives (the "same-zone" prices: no network charges), prints the bill before and after,
scores the whole portfolio with the chosen model in parallel, and writes the report.

    .venv/bin/python examples/finance.py [--time-budget SECONDS] [--rows N] [--out FOLDER]

To adapt it: read your own table in load_customers (a row of numbers per customer, and whether
they defaulted), and put your own volume and prices in NIGHTLY and PRICES.
"""

from __future__ import annotations

import numpy as np
import pyarrow.csv

import _common
import thrifty as th

# 2 million card holders scored every night; 4 scoring servers; a new version each month, after
# the model-risk team signs it off; every version kept three years for the regulator.
NIGHTLY = th.Workload(
    inferences_per_month=60_000_000, replicas=4, deploys_per_month=1, versions_kept=36
)
# Scored in the zone where the data lives: the network is free; compute and storage are not.
PRICES = "same-zone"
FEATURES = ("student", "balance", "income")  # student: 1 for yes; balance and income in dollars
MAX_DROP = 0.5  # points of AUC


def load_customers(rows: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The customers' features (float32, in FEATURES order) and whether each defaulted (1)."""
    table = pyarrow.csv.read_csv(_common.package_data("ISLP", "data/Default.csv"))
    take = _common.some_rows(table.num_rows, rows, seed)
    columns = [_yes(table["student"]), table["balance"].to_numpy(), table["income"].to_numpy()]
    x = np.column_stack(columns).astype(np.float32)
    return x[take], _yes(table["default"])[take]


def _yes(column) -> np.ndarray:
    return (column.to_numpy(zero_copy_only=False) == "Yes").astype(np.int64)


def score_portfolio(model_file, customers, x: np.ndarray, defaulted: np.ndarray, folder) -> None:
    """Every customer scored by the chosen model file, in parallel; what the bank learns."""
    done, scores = _common.predict_rows(
        model_file, customers, x, folder / "portfolio.parquet", folder / "scores.parquet"
    )
    chance = np.stack(scores["probabilities"].to_numpy(zero_copy_only=False))[:, 1]
    riskiest = np.argsort(-chance)[: len(chance) // 20]
    _common.console.print(
        f"scored {done.rows:,} customers {_common.speed(done)}: the riskiest 5% "
        f"({len(riskiest):,} customers) include {defaulted[riskiest].sum():,} of the "
        f"{defaulted.sum():,} who defaulted (training customers included)"
    )


def main() -> None:
    args = _common.command_line(__doc__, out="out/examples/finance", time_budget=150)
    x, defaulted = load_customers(args.rows, args.seed)
    customers = th.datasets.from_rows(
        "default", x, defaulted, args.seed, source="ISLP/data/Default.csv",
        classes=("no default", "default"), features=FEATURES, standardize=True,
    ).with_metric("auc")  # fmt: skip
    model = _common.train_baseline(customers, args.seed)
    found = _common.optimize(
        model, customers, max_drop=MAX_DROP, metric="auc", workload=NIGHTLY, pricing=PRICES,
        args=args,
    )  # fmt: skip
    _common.print_outcome(found, NIGHTLY)
    score_portfolio(args.out / "model.thrifty", customers, x, defaulted, args.out)
    _common.print_report(args.out)


if __name__ == "__main__":
    _common.run(main)
