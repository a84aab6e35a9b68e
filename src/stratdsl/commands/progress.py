"""How `batch` shows its progress: a bar on a terminal, a plain line now and then otherwise.

On a terminal (standard error is a TTY) a rich progress bar with the total, the
count, the rate and the time left; the total is counted first (files are
counted, not read). Elsewhere (a log file, CI) one plain line every
`PLAIN_EVERY` assessments, so that a long run shows it is alive without filling
the log. Input: the batch's running Summary after each assessment.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import click

from ..render.catalogue import gettext_for

PLAIN_EVERY = 1000


@contextlib.contextmanager
def batch_progress(total: Callable[[], int], lang: str, tty: bool | None = None) -> Iterator[Callable[[Any], None]]:
    """A progress callback for `run_batch`, live for the `with` block."""
    _ = gettext_for(lang)
    if tty is None:
        tty = sys.stderr.isatty()
    if not tty:
        started = time.monotonic()

        def plain(summary: Any) -> None:
            if summary.processed % PLAIN_EVERY == 0:
                rate = summary.processed / max(time.monotonic() - started, 1e-9)
                click.echo(
                    "stratdsl: " + _("{n} done ({invalid} invalid), {rate}/s").format(n=summary.processed, invalid=summary.invalid, rate=f"{rate:.0f}"),
                    err=True,
                )

        yield plain
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    count = total()
    columns = (
        TextColumn(_("evaluating")),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}/s"),
        TextColumn(_("time left")),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("batch", total=count, rate="0")
        started = time.monotonic()

        def update(summary: Any) -> None:
            done = summary.processed + summary.skipped
            rate = summary.processed / max(time.monotonic() - started, 1e-9)
            bar.update(task, completed=done, rate=f"{rate:.0f}")

        yield update
