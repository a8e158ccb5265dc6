"""th.predict on a real Ray cluster started here: a head and a second node, each its own
processes, stopped afterwards. Same outputs as the local backend; a killed actor loses and
repeats no row."""

from __future__ import annotations

import signal
import threading
import time

import numpy as np
import pytest
from predicted import FEATURES, check, kill_a_driver, read_parquet

import thrifty as th
import thrifty.predict.inputs as inputs
from ray_cluster import two_nodes

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster():
    with two_nodes() as address:
        yield address


@pytest.fixture
def small_shards(monkeypatch):
    monkeypatch.setattr(inputs, "SHARD_ROWS", 1_000)


def test_ray_writes_what_local_writes(cluster, model, tmp_path, small_shards):
    import ray

    rows = np.random.default_rng(4).standard_normal((8_000, FEATURES)).astype(np.float32)
    result = th.predict(model, rows, tmp_path / "ray.parquet", workers=2, cluster=cluster)
    assert result.backend == "ray" and result.rows == len(rows)
    check(model, rows, *read_parquet(tmp_path / "ray.parquet"))
    nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert len(nodes) == 2
    th.predict(model, rows, tmp_path / "local.parquet", workers=2)
    for ray_column, local_column in zip(
        read_parquet(tmp_path / "ray.parquet"), read_parquet(tmp_path / "local.parquet"),
        strict=True,
    ):  # fmt: skip
        np.testing.assert_array_equal(ray_column, local_column)


def test_a_killed_ray_actor_loses_and_repeats_no_row(cluster, model, tmp_path, small_shards):
    import psutil

    rows = np.random.default_rng(5).standard_normal((60_000, FEATURES)).astype(np.float32)
    outcome = {}
    job = threading.Thread(
        target=lambda: outcome.update(
            result=th.predict(
                model, rows, tmp_path / "out.parquet", workers=2, batch_size=32, cluster=cluster
            )
        )
    )
    job.start()
    victim, deadline = None, time.monotonic() + 120
    while victim is None and time.monotonic() < deadline:
        parts = list((tmp_path / ".out.parquet.parts").glob("part-*.parquet"))
        actors = [
            p
            for p in psutil.process_iter(["cmdline"])
            if "ShardActor" in " ".join(p.info["cmdline"] or [])
        ]
        if len(parts) >= 3 and actors:
            victim = actors[0]
            victim.send_signal(signal.SIGKILL)
        time.sleep(0.02)
    job.join(240)
    assert victim is not None and "result" in outcome
    check(model, rows, *read_parquet(tmp_path / "out.parquet"))


def test_a_killed_ray_driver_resumes_without_redoing_finished_shards(cluster, model, tmp_path):
    rows = np.random.default_rng(6).standard_normal((60_000, FEATURES)).astype(np.float32)
    finished = kill_a_driver(model, rows, tmp_path, cluster)
    inputs.SHARD_ROWS, before = 1000, inputs.SHARD_ROWS
    try:
        result = th.predict(model, tmp_path / "x.npy", tmp_path / "out.parquet", cluster=cluster)
    finally:
        inputs.SHARD_ROWS = before
    assert result.resumed_shards >= finished  # actors may finish a shard after the kill
    check(model, rows, *read_parquet(tmp_path / "out.parquet"))
