"""Running models: runtime sessions (ONNX Runtime, PyTorch; CPU, CUDA), and ``th.predict``,
parallel batch inference over many rows with each row written exactly once."""

from thrifty.predict.job import Predicted, predict
from thrifty.predict.session import RUNTIMES, Session, available_cores, open_session
from thrifty.verbs import make_callable

__all__ = ["RUNTIMES", "Predicted", "Session", "available_cores", "open_session", "predict"]

make_callable(__name__, predict)  # th.predict(model, inputs, outputs); see thrifty/verbs.py
