"""One rich progress bar style (stderr, transient) for training and sweeps."""

from __future__ import annotations

__all__ = ["progress_bar"]


def progress_bar(label: str, counter: str, total, *, own_eta: bool = False, **fields):
    """Start a transient rich progress bar on stderr: ``label``, bar, ``counter`` text (a rich
    format string over the task, e.g. ``"{task.completed:,.0f} steps"``), an ``info`` field,
    elapsed time and ETA. Returns ``(progress, task_id)``; call ``progress.stop()`` at the end.

    ``own_eta``: the ETA is the task's ``eta`` field, set by the caller (a sweep, whose points
    finish a batch at a time: rich's own estimate, from the last few updates, then reads a whole
    batch finishing in an instant as an absurd rate)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    p = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        TextColumn(counter),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[eta]}") if own_eta else TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    p.start()
    return p, p.add_task(label, total=total, **{"info": "", **({"eta": ""} if own_eta else {}), **fields})
