"""Models: the reference zoo, loading users' files safely, export to ONNX, baseline training."""

from thrifty.models.load import load
from thrifty.models.model import Model
from thrifty.models.onnx_torch import to_torch
from thrifty.models.train import TrainConfig, TrainResult, train
from thrifty.models.zoo import ZOO, build

__all__ = ["ZOO", "Model", "TrainConfig", "TrainResult", "build", "load", "to_torch", "train"]
