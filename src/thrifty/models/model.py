"""A model as thrifty handles it: the ONNX graph that ships, and the torch module when known."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from thrifty.atomic import write_atomic
from thrifty.datasets.samples import is_named
from thrifty.errors import DataMismatch

PREPROCESSING = "thrifty.preprocessing"  # the ONNX metadata property naming a graph's first steps
# what a model says of itself that its ONNX file keeps too (as thrifty.<key> metadata
# properties), so a file thrifty wrote tokenizes texts and scores as an embedding where it went
CARRIED = {"tokenizer": str, "max_length": int, "task": str, "labels": list}

if TYPE_CHECKING:
    import onnx
    from torch import nn


@dataclass
class Model:
    """The deployable ONNX graph (``proto``), where it came from, and its torch module if any.

    Everything thrifty measures runs on ``proto``, the artifact that ships; ``module`` is kept so
    that a model built in PyTorch can be run in PyTorch and fine-tuned.
    """

    proto: onnx.ModelProto
    name: str
    source: str
    module: nn.Module | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def input_name(self) -> str:
        return _graph_inputs(self.proto)[0].name

    @property
    def input_names(self) -> tuple[str, ...]:
        """Every input the graph takes, in its order (``input_ids``, ``attention_mask``, ...)."""
        return tuple(i.name for i in _graph_inputs(self.proto))

    @property
    def input_dtypes(self) -> dict[str, np.dtype]:
        """Each input's element type, as NumPy names it (float32, int64, ...)."""
        from onnx.helper import tensor_dtype_to_np_dtype

        return {i.name: tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type)
                for i in _graph_inputs(self.proto)}  # fmt: skip

    @property
    def input_shape(self) -> tuple[int | None, ...]:
        """The shape of one sample, without the batch axis; ``None`` where the graph is symbolic."""
        dims = _graph_inputs(self.proto)[0].type.tensor_type.shape.dim
        return tuple(d.dim_value if d.HasField("dim_value") else None for d in dims[1:])

    @property
    def output_name(self) -> str:
        """The output thrifty reads: the first floating-point one (scores), else the first."""
        import onnx

        floats = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE}
        outputs = list(self.proto.graph.output)
        scores = [o for o in outputs if o.type.tensor_type.elem_type in floats]
        return (scores or outputs)[0].name

    @property
    def preprocessing(self) -> list[dict[str, Any]]:
        """The preprocessing the graph applies to its inputs first, as recorded when thrifty
        trained it (``[]`` for a model whose graph records none: it takes its inputs as is)."""
        import json

        props = {p.key: p.value for p in self.proto.metadata_props}
        return json.loads(props.get(PREPROCESSING, "[]"))

    @property
    def text_encoding(self):
        """How texts become this model's inputs (``thrifty.datasets.tokens.Encoding``), for a
        model that carries its tokenizer (a Hugging Face folder's); None for others."""
        from thrifty.datasets.tokens import Encoding

        tokenizer = self.metadata.get("tokenizer")
        if not isinstance(tokenizer, str):
            return None
        types = "token_type_ids" in self.input_names
        return Encoding(tokenizer, int(self.metadata.get("max_length", 512)), types)

    @property
    def labels(self) -> tuple[str, ...] | None:
        """A classifier's outputs' names, in order, when it says (a Hugging Face folder's)."""
        labels = self.metadata.get("labels")
        return tuple(labels) if isinstance(labels, list) else None

    @property
    def task(self) -> str | None:
        """What the model's output is, when it says: ``embedding`` for a sentence encoder."""
        return self.metadata.get("task")

    def to_bytes(self) -> bytes:
        """The ONNX file: the graph, with what ``CARRIED`` names of the metadata."""
        return carrying(self.proto, self.metadata).SerializeToString()

    def save(self, path: str | Path) -> Path:
        """Write the ONNX file atomically: a reader sees the old file or the new one, never half."""
        return write_atomic(path, self.to_bytes())

    def fit_inputs(self, x):
        """``x`` shaped for this model's input: as is, or reshaped when only the layout differs
        (a model exported with flat 784 inputs takes 1x28x28 images unchanged in meaning).
        Samples of named inputs must name every input the graph takes."""
        if is_named(x):
            return self._named(x)
        if len(self.input_names) > 1:
            raise DataMismatch(
                f"model {self.name!r} takes inputs {list(self.input_names)}, but the data's "
                "samples are one array; give an .npz with one array per input, named as they are"
            )
        expected = self.input_shape
        given = tuple(x.shape[1:])
        if len(expected) == len(given) and all(
            e in (None, g) for e, g in zip(expected, given, strict=True)
        ):
            return x
        if None not in expected and int(np.prod(expected)) == int(np.prod(given)):
            return x.reshape((len(x), *expected))
        raise DataMismatch(
            f"the data's samples have shape {given} but model {self.name!r} expects "
            f"{tuple('?' if e is None else e for e in expected)}; pass data made for this model"
        )

    def _named(self, x):
        """Named samples, checked: every input the graph takes is there, by name."""
        missing = [n for n in self.input_names if n not in x.names]
        if missing:
            raise DataMismatch(
                f"model {self.name!r} takes inputs {list(self.input_names)}, but the data has "
                f"no {', '.join(map(repr, missing))}; name the data's arrays as the inputs"
            )
        return x


def _graph_inputs(proto: onnx.ModelProto) -> list:
    """Graph inputs that are real inputs (older exporters also list initializers as inputs)."""
    weights = {t.name for t in proto.graph.initializer}
    return [i for i in proto.graph.input if i.name not in weights]


def bind(dtypes: dict[str, np.dtype], batch) -> dict[str, np.ndarray]:
    """ONNX Runtime's feed for a batch: an array (a model of one input), or arrays by input
    name, each bound to the graph's input of that name and cast to its type (``dtypes``:
    :attr:`Model.input_dtypes`; token ids to int64)."""
    if isinstance(batch, np.ndarray):
        ((name, dtype),) = dtypes.items()
        return {name: batch.astype(dtype, copy=False)}
    return {name: batch[name].astype(dtype, copy=False) for name, dtype in dtypes.items()}


def carrying(proto, metadata: dict[str, Any]):
    """``proto`` with ``metadata``'s ``CARRIED`` keys among its metadata properties (a copy
    where any is missing or differs)."""
    import onnx

    wanted = {f"thrifty.{key}": _text(metadata[key]) for key in CARRIED if key in metadata}
    held = {p.key: p.value for p in proto.metadata_props}
    if all(held.get(key) == value for key, value in wanted.items()):
        return proto
    copy = onnx.ModelProto()
    copy.CopyFrom(proto)
    onnx.helper.set_model_props(copy, {**held, **wanted})
    return copy


def carried(proto) -> dict[str, Any]:
    """The ``CARRIED`` metadata an ONNX file holds."""
    import json

    held = {p.key: p.value for p in proto.metadata_props}
    read = {list: json.loads}
    return {key: read.get(kind, kind)(held[f"thrifty.{key}"]) for key, kind in CARRIED.items()
            if f"thrifty.{key}" in held}  # fmt: skip


def _text(value) -> str:
    import json

    return json.dumps(value) if isinstance(value, list) else str(value)
