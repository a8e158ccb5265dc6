"""Recovery fine-tuning after each technique: with labels, or by distillation without them."""

from __future__ import annotations

from dataclasses import dataclass

from thrifty.errors import DataError


@dataclass(frozen=True)
class FineTune:
    epochs: int = 20  # at most, after each technique; early stopping on validation usually ends it
    patience: int = 4  # epochs without a better validation score before stopping
    learning_rate: float = 3e-3  # above training's: a pruned network must move to recover, and
    # the rate halves after every epoch without a better validation score
    batch_size: int = 128
    seed: int = 0
    max_seconds: float | None = None  # per recovery run; the best epoch so far is kept
    labels: bool = True  # False: learn the original model's outputs (distillation), no labels

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.patience < 1 or self.learning_rate <= 0:
            raise DataError(
                "fine-tuning needs epochs >= 0, patience >= 1 and a learning rate > 0; got "
                f"epochs={self.epochs}, patience={self.patience}, "
                f"learning_rate={self.learning_rate}"
            )


def recover(module, context, *, epochs: int | None = None):
    """Fine-tune ``module`` in place (masks and sharing stay, being parametrizations)."""
    from thrifty.models.training import TrainConfig, train

    settings = context.finetune
    epochs = settings.epochs if epochs is None else epochs
    if epochs == 0:
        return module
    config = TrainConfig(
        epochs=epochs,
        patience=settings.patience,
        decay_after=1,
        batch_size=settings.batch_size,
        learning_rate=settings.learning_rate,
        seed=settings.seed,
        max_seconds=settings.max_seconds,
        deadline=context.deadline,
    )
    teacher = None if settings.labels else context.teacher
    shown = "compress: fine-tuning" if context.progress else False
    return train(module, context.data, config, teacher=teacher, progress=shown).module
