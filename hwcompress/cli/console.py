"""Terminal output: progress bars on a terminal; plain lines elsewhere (CI, logs)."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hwcompress.train.loop import EpochStats


class ConsoleReporter:
    """Implements ``hwcompress.train.Reporter`` on a rich console."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress: Progress | None = None
        self._task = None
        self._epochs = 0

    def start(self, epochs: int, batches: int, first_epoch: int) -> None:
        self._epochs = epochs
        if first_epoch:
            self.console.print(f"resuming after epoch {first_epoch} from the last checkpoint")
        if self.console.is_terminal and first_epoch < epochs:
            self._progress = Progress(
                TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]:.4f}  acc {task.fields[acc]:.2%}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._task = self._progress.add_task(
                "train", total=batches, epoch=first_epoch + 1, epochs=epochs, loss=0.0, acc=0.0
            )
            self._progress.start()

    def batch(self, epoch: int, done: int, loss: float, acc: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, completed=done, epoch=epoch, loss=loss, acc=acc)

    def epoch(self, stats: EpochStats) -> None:
        self.console.print(
            f"epoch {stats.epoch}/{self._epochs}  loss {stats.loss:.4f}  train {stats.train_acc:.2%}  "
            f"val {stats.val_acc:.2%}  lr {stats.lr:.2e}  {stats.seconds:.1f} s"
        )
        if self._progress is not None:
            if stats.epoch == self._epochs:
                self._progress.stop()
                self._progress = None
            else:
                self._progress.reset(self._task, epoch=stats.epoch + 1)


class ConsoleProgress:
    """Implements ``hwcompress.progress.Progress``: a bar per task on a terminal, a plain line per update elsewhere."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._progress: Progress | None = None
        self._tasks: dict[str, object] = {}

    def __call__(self, task: str, done: int, total: int, detail: str = "") -> None:
        if not self.console.is_terminal:
            self.console.print(f"  {task} {done:,}/{total:,} {detail}".rstrip(), markup=False, highlight=False)
            return
        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._progress.start()
        if task not in self._tasks:
            self._tasks[task] = self._progress.add_task(task, total=total, detail=detail)
        self._progress.update(self._tasks[task], completed=done, total=total, detail=detail)
        if done >= total:
            self._progress.remove_task(self._tasks.pop(task))
            if not self._tasks:
                self.close()

    def close(self) -> None:
        """Take any bar off the screen (after an error, too)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks.clear()
