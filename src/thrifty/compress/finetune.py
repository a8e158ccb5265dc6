"""Recovery fine-tuning after each technique: with labels, or by distillation without them.

What suits recovery depends on the network. The zoo's small networks (MLPs, CNNs, trained
here) recover with Adam at 3e-3, above training's rate, in batches of 128, from labels or from
the original's outputs. A pretrained transformer would be wrecked by that rate: it recovers at
1e-4 (the top of the rates BERT-style models are fine-tuned and distilled at: Devlin et al.
2019 tune at 2e-5..5e-5, TinyBERT distils at 5e-5..1e-4; pruning moves it further, so the top)
in batches of 32 (more steps from a few hundred texts), and always distils from the original,
its hidden states too (thrifty.models.distillation), adding the labels when told to use them.
"""

from __future__ import annotations

from dataclasses import dataclass

from thrifty.errors import DataError

SMALL_NETWORK = {"learning_rate": 3e-3, "batch_size": 128}
TRANSFORMER = {"learning_rate": 1e-4, "batch_size": 32}


@dataclass(frozen=True)
class FineTune:
    epochs: int = 20  # at most, after each technique; early stopping on validation usually ends it
    patience: int = 4  # epochs without a better validation score before stopping
    learning_rate: float | None = None  # None: what suits the network (SMALL_NETWORK's, or
    # TRANSFORMER's); the rate halves after every epoch without a better validation score
    batch_size: int | None = None  # None: what suits the network, as for the rate
    seed: int = 0
    max_seconds: float | None = None  # per recovery run; the best epoch so far is kept
    labels: bool = True  # False: learn the original model's outputs (distillation), no labels

    def __post_init__(self) -> None:
        rate, size = self.learning_rate, self.batch_size
        if (
            self.epochs < 0
            or self.patience < 1
            or (rate is not None and not rate > 0)
            or (size is not None and size < 1)
        ):
            raise DataError(
                "fine-tuning needs epochs >= 0, patience >= 1, a learning rate > 0 and a batch "
                f"size >= 1; got epochs={self.epochs}, patience={self.patience}, "
                f"learning_rate={rate}, batch_size={size}"
            )


def recover(module, context, *, epochs: int | None = None):
    """Fine-tune ``module`` in place (masks and sharing stay, being parametrizations)."""
    from thrifty.models.distillation import is_transformer
    from thrifty.models.training import TrainConfig, train

    settings = context.finetune
    epochs = settings.epochs if epochs is None else epochs
    if epochs == 0:
        return module
    transformer = is_transformer(module)
    suits = TRANSFORMER if transformer else SMALL_NETWORK
    config = TrainConfig(
        epochs=epochs,
        patience=settings.patience,
        decay_after=1,
        batch_size=settings.batch_size or suits["batch_size"],
        learning_rate=settings.learning_rate or suits["learning_rate"],
        seed=settings.seed,
        max_seconds=settings.max_seconds,
        deadline=context.deadline,
    )
    teacher = context.teacher if transformer or not settings.labels else None
    shown = "compress: fine-tuning" if context.progress else False
    tuned = train(
        module, context.data, config, teacher=teacher, labels=settings.labels, progress=shown
    )
    return tuned.module
