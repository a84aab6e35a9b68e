"""Running a batch on a Dask cluster (optional extra `stratdsl[dask]`).

Jobs are shipped in chunks; each worker process compiles the policy once from
the source text carried by the job (the same `evaluate_item` as the local
run, handed in by `batch` so that this module does not import it back), so
the output is the same bytes as a local run, in input order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..language.diagnostics import Diagnostic, StratError
from ..language.messages import N_, Msg

WINDOW = 8  # chunks in flight: enough to keep workers busy, bounded memory


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _run_chunk(evaluate_item: Callable[[tuple], str], jobs: list[tuple]) -> list[str]:
    return [evaluate_item(job) for job in jobs]


def execute(
    work: Iterator[tuple], scheduler: str | None, evaluate_item: Callable[[tuple], str], chunk_size: int
) -> Iterator[str]:
    try:
        from dask.distributed import Client
    except ImportError:
        raise StratError(
            [Diagnostic("E601", Msg(N_("the Dask engine needs the optional extra: pip install 'stratdsl[dask]'")))]
        ) from None
    if not scheduler:
        raise StratError([Diagnostic("E602", Msg(N_("--engine dask needs --scheduler ADDRESS (for example tcp://127.0.0.1:8786)")))])
    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise StratError([Diagnostic("E603", Msg(N_("cannot reach the Dask scheduler at {scheduler}: {error}"), scheduler=scheduler, error=error))]) from None
    with client:
        in_flight: deque = deque()
        for chunk in _chunks(work, chunk_size):
            in_flight.append(client.submit(_run_chunk, evaluate_item, chunk, pure=False))
            if len(in_flight) >= WINDOW:
                yield from in_flight.popleft().result()
        while in_flight:
            yield from in_flight.popleft().result()
