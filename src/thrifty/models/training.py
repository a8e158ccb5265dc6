"""Training a baseline: Adam, early stopping on the validation split, seeded."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np

from thrifty.datasets import Dataset
from thrifty.datasets.samples import feed, run_in_length_order, take
from thrifty.models.feeding import forward, to_tensors

RAGGED_BATCH = 32  # token rows a validation call: each batch pads to its own longest


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30  # an upper bound; early stopping usually ends sooner
    patience: int = 5  # epochs without a better validation score before stopping
    decay_after: int = 1  # epochs without a better score before the learning rate is halved
    batch_size: int = 128
    learning_rate: float = 1e-3  # Adam's default, which suits every zoo model
    seed: int = 0
    max_seconds: float | None = None  # stop after the epoch that passes this, keeping the best
    deadline: float | None = None  # a time.monotonic() instant: stop there, mid-epoch if need
    # be, keeping the best weights so far (the optimizer's time budget, which an epoch of a
    # large model could overrun by minutes)
    temperature: float = 4.0  # softens a teacher's scores in distillation (Hinton et al. 2015)


@dataclass
class TrainResult:
    module: object
    epochs: int
    best_epoch: int
    val_scores: list[float] = field(default_factory=list)  # accuracy, or -RMSE for regression
    seconds: float = 0.0


def train(
    module,
    data: Dataset,
    config: TrainConfig = TrainConfig(),
    *,
    teacher=None,
    labels: bool = False,
    progress: bool | str = False,
):
    """Train ``module`` on ``data.train``; return it with the weights of its best validation epoch.

    With a ``teacher`` the module learns the teacher's outputs (distillation: soft targets at
    ``config.temperature`` for classes, the values for regression), and the labels too only
    with ``labels``; a transformer learns the teacher's hidden states as well
    (thrifty.models.distillation). Runs on a CUDA GPU when there is one. Seeded: the same
    module, data and config give the same weights on the same machine. ``progress``: True, or
    the words naming the run (``training lenet-300-100``), shows the epochs on stderr
    (thrifty.progress).
    """
    import torch

    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    module.to(device)
    if teacher is not None:
        teacher.to(device).eval()
    x = data.train.x
    classify = data.task == "classification"
    y = torch.from_numpy(data.train.y if classify else data.train.y.astype(np.float32))
    loss_fn = _loss(data.task, teacher, config.temperature, labels)
    optimizer = torch.optim.Adam(module.parameters(), lr=config.learning_rate)
    schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", factor=0.5, patience=config.decay_after
    )

    best_score, best_state, best_epoch, scores = -np.inf, None, 0, []
    started = time.perf_counter()
    with _bar(progress, config.epochs) as bar:
        for epoch in range(1, config.epochs + 1):
            module.train()
            for index in torch.randperm(len(x), generator=generator).split(config.batch_size):
                if _past(config.deadline):
                    break
                optimizer.zero_grad()
                xb = to_tensors(feed(take(x, index.numpy())), device)
                loss = loss_fn(module, xb, y[index].to(device))
                loss.backward()
                optimizer.step()
            score = validation_score(module, data)
            scores.append(score)
            schedule.step(score)
            if score > best_score:
                best_score, best_epoch = score, epoch
                best_state = copy.deepcopy(module.state_dict())
            steering = data.metric.steering
            bar.epoch(epoch, f"val {steering.spec} {steering.format(abs(score))}")
            out_of_patience = epoch - best_epoch >= config.patience
            out_of_time = config.max_seconds and time.perf_counter() - started > config.max_seconds
            if out_of_patience or out_of_time or _past(config.deadline):
                break
        bar.end(epoch, _why_stopped(epoch, best_epoch, config))
    module.load_state_dict(best_state)
    module.to("cpu").eval()
    return TrainResult(module, epoch, best_epoch, scores, time.perf_counter() - started)


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline


def _loss(task: str, teacher, temperature: float, labels: bool):
    """loss(module, inputs, labels): the task's loss, or distillation from ``teacher``."""
    from thrifty.models.distillation import distillation_loss, label_loss

    if teacher is not None:
        return distillation_loss(task, teacher, temperature, labels)
    return lambda module, xb, yb: label_loss(task, forward(module, xb), yb)


def validation_score(module, data: Dataset) -> float:
    """The data set's metric (its steering form: F1 for recall or precision) on the
    validation split, signed so that higher is better."""
    import torch

    from thrifty.datasets.metrics import score

    module.eval()
    device = next(module.parameters()).device
    ragged = hasattr(data.val.x, "lengths")  # token rows: in batches of similar lengths

    def run(part) -> np.ndarray:
        return forward(module, to_tensors(feed(part), device)).cpu().numpy()

    with torch.inference_mode():
        out = run_in_length_order(run, data.val.x, RAGGED_BATCH if ragged else 1024)
    metric = data.metric.steering
    return metric.better(score(metric, out, data.val.y, data.classes or data.num_classes))


def _why_stopped(epoch: int, best_epoch: int, config: TrainConfig) -> str:
    if epoch - best_epoch >= config.patience:
        return (
            f"stopped early at epoch {epoch}: no better validation score for "
            f"{config.patience} epochs; kept epoch {best_epoch}"
        )
    if epoch < config.epochs:
        return f"stopped at epoch {epoch}: out of time; kept epoch {best_epoch}"
    return f"done: {epoch} epochs; kept epoch {best_epoch}"


class _bar:
    """The epochs, when asked for: a rich bar on a terminal, otherwise a line every few seconds
    (thrifty.progress). The bar ends full, at the epochs run, saying why training stopped."""

    def __init__(self, show: bool | str, total: int):
        self.show, self.total = bool(show), total
        self.title = show if isinstance(show, str) else "training"
        self.progress = self.lines = None

    def __enter__(self):
        from thrifty.progress import Lines, on_terminal

        if self.show and on_terminal():
            from rich.progress import Progress

            self.progress = Progress(transient=False)
            self.progress.start()
            self.task = self.progress.add_task(self.title, total=self.total)
        elif self.show:
            self.lines = Lines()
        return self

    def epoch(self, epoch: int, text: str) -> None:
        if self.progress is not None:
            self.progress.update(self.task, advance=1, description=f"epoch {epoch}: {text}")
        elif self.lines is not None:
            seconds = self.lines.seconds
            self.lines.say(f"{self.title}: epoch {epoch}/{self.total}, {text}, {seconds:.0f} s")

    def end(self, epochs: int, why: str) -> None:
        if self.progress is not None:
            self.progress.update(self.task, total=epochs, completed=epochs, description=why)
        elif self.lines is not None:
            self.lines.say(f"{self.title}: {why} ({self.lines.seconds:.0f} s)", done=True)

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.stop()
