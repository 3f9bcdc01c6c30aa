"""One rich progress bar style (stderr, transient) for training and sweeps."""

from __future__ import annotations

__all__ = ["progress_bar"]


def progress_bar(label: str, counter: str, total, **fields):
    """Start a transient rich progress bar on stderr: ``label``, bar, ``counter`` text (a rich
    format string over the task, e.g. ``"{task.completed:,.0f} steps"``), an ``info`` field,
    elapsed time and ETA. Returns ``(progress, task_id)``; call ``progress.stop()`` at the end."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    p = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        TextColumn(counter),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    p.start()
    return p, p.add_task(label, total=total, **{"info": "", **fields})
