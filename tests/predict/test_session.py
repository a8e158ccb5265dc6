import numpy as np
import pytest

import thrifty as th
from thrifty.errors import ModelError, RuntimeUnavailable


@pytest.fixture(scope="module")
def model():
    return th.load(th.models.build("lenet-5", (1, 28, 28), 10), input_shape=(1, 28, 28))


@pytest.mark.parametrize("runtime", ["onnxruntime", "torch"])
@pytest.mark.parametrize("batch", [1, 7])
def test_sessions_run_any_batch_size(model, runtime, batch):
    session = th.open_session(model, runtime, device="cpu", threads=1)
    x = np.random.default_rng(0).random((batch, 1, 28, 28), dtype=np.float32)
    out = session.run(x)
    assert out.shape == (batch, 10) and out.dtype == np.float32
    assert (session.runtime, session.device, session.threads) == (runtime, "cpu", 1)


def test_runtimes_agree(model):
    x = np.random.default_rng(1).random((64, 1, 28, 28), dtype=np.float32)
    ort, torch = (th.open_session(model, r, device="cpu").run(x) for r in ("onnxruntime", "torch"))
    np.testing.assert_allclose(ort, torch, rtol=1e-5, atol=1e-5)


def test_auto_device_is_a_real_one(model):
    assert th.open_session(model, device="auto").device in ("cpu", "cuda")


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has a GPU")
@pytest.mark.parametrize("runtime", ["onnxruntime", "torch"])
def test_cuda_without_a_gpu_says_so(model, runtime):
    with pytest.raises(RuntimeUnavailable, match="--device cpu"):
        th.open_session(model, runtime, device="cuda")


def test_bad_settings(model):
    with pytest.raises(ModelError, match="unknown runtime"):
        th.open_session(model, "tensorrt")
    with pytest.raises(ModelError, match="unknown device"):
        th.open_session(model, device="tpu")


def test_torch_runs_a_model_file(tmp_path, model):
    """A model loaded from a file has no torch module: its graph is converted to one."""
    model.save(tmp_path / "m.onnx")
    loaded = th.load(tmp_path / "m.onnx")
    x = np.random.default_rng(2).random((16, 1, 28, 28), dtype=np.float32)
    torch, ort = (th.open_session(loaded, r, device="cpu").run(x) for r in ("torch", "onnxruntime"))
    np.testing.assert_allclose(torch, ort, rtol=1e-5, atol=1e-5)


@pytest.fixture
def two_threads():
    """PyTorch's process-wide thread count at 2 (so a session at 1 changes it), then as it was."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_a_torch_session_puts_the_process_threads_back(model, two_threads):
    """Closed at a ``with`` block's end, or collected: the count is as the session found it."""
    import torch

    x = np.zeros((3, 1, 28, 28), dtype=np.float32)
    with th.open_session(model, "torch", device="cpu", threads=1) as session:
        assert torch.get_num_threads() == 1
        session.run(x)
    assert torch.get_num_threads() == 2
    th.open_session(model, "torch", device="cpu", threads=1).run(x)  # collected at once
    assert torch.get_num_threads() == 2


def test_each_torch_session_runs_on_its_own_threads(model, two_threads):
    import torch

    x = np.zeros((3, 1, 28, 28), dtype=np.float32)
    with (
        th.open_session(model, "torch", device="cpu", threads=1) as one,
        th.open_session(model, "torch", device="cpu", threads=3) as three,
    ):
        for session in (one, three, one):
            session.run(x)
            assert torch.get_num_threads() == session.threads
    assert torch.get_num_threads() == 2


def test_profiling_in_pytorch_leaves_the_process_threads(digits, two_threads):
    """The optimizer profiles each candidate in PyTorch too, and fine-tunes the next on every
    core: profile closes its session."""
    import torch

    mlp = th.load(th.models.build("tabular-mlp", (64,), 10), input_shape=(64,))
    th.profile(mlp, digits, runtime="torch", threads=1, timing_budget_s=0.02)
    assert torch.get_num_threads() == 2
