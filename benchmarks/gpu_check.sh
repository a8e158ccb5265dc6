#!/usr/bin/env bash
# The GPU check (issue "Predict"): on a machine with a CUDA GPU, run the prediction tests (those
# that need a GPU run there, and skip elsewhere), then predict on the CPU and on the GPU in one
# run and print both. Needs the project's environment (`make setup`), or any Python with a CUDA
# build of PyTorch and thrifty's imports (PYTHON=python3 PYTHONPATH=src); without a GPU it
# prints the CPU figure and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
"$PYTHON" -c "import onnxruntime; print('onnxruntime', onnxruntime.__version__, onnxruntime.get_available_providers())"
"$PYTHON" -m pytest -q -p no:cacheprovider -rs tests/predict/test_predict.py \
    tests/predict/test_session.py tests/predict/test_sparse.py tests/predict/test_cli_predict.py
"$PYTHON" benchmarks/gpu.py --rows "${ROWS:-200000}"
