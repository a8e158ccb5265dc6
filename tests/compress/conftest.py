import pytest

import thrifty as th


@pytest.fixture(scope="session")
def accuracy():
    """accuracy(model, data): test accuracy of the model as deployed (ONNX Runtime)."""
    return lambda model, data: th.profile(model, data, timing_budget_s=0.02).quality.value
