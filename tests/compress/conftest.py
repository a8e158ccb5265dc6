import pytest

import thrifty as th


@pytest.fixture(scope="session")
def digits_baseline(digits):
    """A tabular MLP trained on digits: 64-128-64-10, about 95% test accuracy."""
    module = th.models.build("tabular-mlp", (64,), 10, steps=digits.training_steps)
    result = th.models.train(module, digits, th.models.TrainConfig(epochs=40))
    return th.load(result.module, input_shape=(64,), name="digits-mlp")


@pytest.fixture(scope="session")
def accuracy():
    """accuracy(model, data): test accuracy of the model as deployed (ONNX Runtime)."""
    return lambda model, data: th.profile(model, data, timing_budget_s=0.02).quality.value
