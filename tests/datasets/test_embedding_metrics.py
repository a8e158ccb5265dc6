"""Quality without labels: an embedding's agreement with the original model's vectors."""

import numpy as np
import pytest

from thrifty.datasets.metrics import Metric, parse, score
from thrifty.errors import DataError, DataMismatch

rng = np.random.default_rng(0)
ORIGINAL = rng.normal(size=(300, 16))


@pytest.mark.parametrize("spec", ["spearman", "cosine", "recall@5"])
def test_the_original_agrees_with_itself_and_noise_does_not(spec):
    metric = parse(spec, "embedding")
    assert score(metric, ORIGINAL * 3.0, ORIGINAL, None) == pytest.approx(1.0)  # scale is free
    noise = rng.normal(size=ORIGINAL.shape)
    assert score(metric, noise, ORIGINAL, None) < 0.2
    close = ORIGINAL + 0.3 * rng.normal(size=ORIGINAL.shape)
    assert 0.5 < score(metric, close, ORIGINAL, None) < 1.0


def test_agreement_is_a_share_and_its_drop_is_in_points():
    metric = Metric("spearman")
    assert metric.is_share and metric.drop(1.0, 0.99) == pytest.approx(1.0)
    assert Metric("recall@10").name == "recall@" and Metric("recall:1").name == "recall"


def test_wrong_embedding_metrics_say_what_fits():
    with pytest.raises(DataError, match="recall@K with K a whole number"):
        parse("recall@ten", "embedding")
    with pytest.raises(DataError, match="is for embedding; this data is classification"):
        parse("spearman", "classification")
    with pytest.raises(DataError, match="use spearman, cosine, recall@K$"):
        parse("accuracy", "embedding")
    with pytest.raises(DataMismatch, match="vectors of 8 but the original's are 16 wide"):
        score(Metric("cosine"), ORIGINAL[:, :8], ORIGINAL, None)
