#!/usr/bin/env bash
# The GPU check (issue "Predict"): on a machine with a CUDA GPU, predict on the CPU and on the
# GPU in one run and print both. Needs the project's environment (`make setup`) with a CUDA
# build of PyTorch; without a GPU it prints the CPU figure and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"
"$PYTHON" benchmarks/gpu.py --rows "${ROWS:-200000}"
