"""Running models: runtime sessions (ONNX Runtime, PyTorch; CPU, CUDA)."""

from thrifty.predict.session import RUNTIMES, Session, available_cores, open_session

__all__ = ["RUNTIMES", "Session", "available_cores", "open_session"]
