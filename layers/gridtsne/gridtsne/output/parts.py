"""Render work cut into parts that forked worker processes compute and the parent gathers in order.

A :class:`Parts` is a list of tasks, closures over what the parent holds (a thumbnail spool read by offset,
the layout's arrays), and two steps that make the product from their results: ``gather`` takes the results
one by one in task order, ``finish`` turns what was gathered into the product (an encoding, a write).
:func:`run_parts` runs several of them over ``workers`` processes forked once at the start: the workers
inherit the closures, so only task numbers and results cross between processes, through pipes (no
shared-memory semaphores, which AWS Lambda lacks). The parent sends a task only while fewer than
``2 × workers`` results wait before the one it needs, so the results held at once stay bounded, and runs
each ``finish`` in one background thread while it gathers the next parts. With one worker the tasks run in
order in this process, the same code: the products are the same bytes whatever the number of workers.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from itertools import islice
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar, cast

from gridtsne.core.embed import cpu_count

__all__ = ["PARALLEL_FROM", "WORKERS_ENV", "Parts", "cuts", "render_workers", "run_parts", "unchanged"]

R = TypeVar("R")
G = TypeVar("G")
T = TypeVar("T")
U = TypeVar("U")

#: Overrides the number of render processes (default: the usable cores).
WORKERS_ENV = "GRIDTSNE_RENDER_WORKERS"
#: Pictures from which a render is worth more than one process.
PARALLEL_FROM = 10_000


@dataclass(frozen=True)
class Parts(Generic[R, G, T]):
    """A product cut into ``tasks``; ``gather`` reads all their results in task order, ``finish`` makes the
    product of what it returns."""

    tasks: Sequence[Callable[[], R]]
    gather: Callable[[Iterator[R]], G]
    finish: Callable[[G], T]

    def then(self, finish: Callable[[G], U]) -> Parts[R, G, U]:
        """The same parts with another ``finish``."""
        return Parts(self.tasks, self.gather, finish)


def unchanged(value: T) -> T:
    """A ``finish`` that keeps what was gathered as the product."""
    return value


def cuts(workers: int) -> int:
    """Tasks to cut a product into for ``workers`` processes: several each, so that they end together."""
    return 4 * workers if workers > 1 else 1


def render_workers(pictures: int) -> int:
    """Processes for a render of ``pictures``: ``$GRIDTSNE_RENDER_WORKERS``, else the usable cores from
    :data:`PARALLEL_FROM` pictures on, else one."""
    given = os.environ.get(WORKERS_ENV, "").strip()
    if given:
        return max(1, int(given))
    return cpu_count() if pictures >= PARALLEL_FROM else 1


def run_parts(jobs: Sequence[Parts[Any, Any, Any]], workers: int) -> list[Any]:
    """The products of ``jobs``, their tasks computed by ``workers`` forked processes.

    Raises
    ------
    RuntimeError
        When a worker ends without answering (killed, out of memory); a task's own exception is raised
        as it was.
    """
    tasks: list[Callable[[], Any]] = [task for job in jobs for task in job.tasks]
    if workers <= 1 or len(tasks) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        results: Iterator[Any] = (task() for task in tasks)
        return [job.finish(_gather(job, results)) for job in jobs]
    with _Workers(tasks, min(workers, len(tasks))) as pool, ThreadPoolExecutor(1) as background:
        results = pool.results()
        finished: list[Future[Any]] = [background.submit(job.finish, _gather(job, results)) for job in jobs]
        return [done.result() for done in finished]


def _gather(job: Parts[Any, G, Any], results: Iterator[Any]) -> G:
    """``job.gather`` over the next ``len(job.tasks)`` results, all of which it must read."""
    mine = islice(results, len(job.tasks))
    gathered = job.gather(mine)
    if next(mine, None) is not None:
        raise RuntimeError("a part's results were not all gathered")
    return gathered


class _Workers:
    """Processes forked now, each computing the tasks it is sent by number."""

    def __init__(self, tasks: list[Callable[[], Any]], count: int) -> None:
        self._tasks = tasks
        self._ahead = 2 * count
        self._conns: list[Connection] = []
        self._processes: list[BaseProcess] = []
        context = multiprocessing.get_context("fork")
        for _ in range(count):
            here, there = context.Pipe()
            process = context.Process(target=_serve, args=(tasks, there, list(self._conns)), daemon=True)
            process.start()
            there.close()
            self._conns.append(here)
            self._processes.append(process)

    def __enter__(self) -> _Workers:
        return self

    def __exit__(self, *exc: object) -> None:
        for conn in self._conns:
            with suppress(OSError):
                conn.send(None)  # done: the worker exits
            conn.close()
        for process in self._processes:
            process.join(timeout=None if exc[0] is None else 0)
            if process.is_alive():
                process.terminate()
                process.join()

    def results(self) -> Iterator[Any]:
        """Every task's result, in task order."""
        sent, held, busy, idle = 0, {}, {}, list(self._conns)
        for want in range(len(self._tasks)):
            while want not in held:
                while idle and sent < len(self._tasks) and sent < want + self._ahead:
                    conn = idle.pop()
                    conn.send(sent)
                    busy[conn], sent = sent, sent + 1
                for ready in wait(list(busy)):
                    conn = cast(Connection, ready)
                    index = busy.pop(conn)
                    try:
                        ok, value = conn.recv()
                    except EOFError:
                        raise RuntimeError("a render worker ended without answering") from None
                    if not ok:
                        error, where = value
                        error.add_note(f"in a render worker:\n{where}")
                        raise error
                    held[index] = value
                    idle.append(conn)
            yield held.pop(want)


def _serve(tasks: list[Callable[[], Any]], conn: Connection, inherited: list[Connection]) -> None:
    """A worker: run the tasks whose numbers come through ``conn``, answer ``(True, result)`` or
    ``(False, (error, traceback))``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles an interrupt and ends its workers
    for other in inherited:  # the parent's ends of the earlier workers' pipes
        other.close()
    while (index := conn.recv()) is not None:
        try:
            answer: tuple[bool, Any] = (True, tasks[index]())
        except Exception as error:  # raised again in the parent
            answer = (False, (error, traceback.format_exc()))
        try:
            conn.send(answer)
        except Exception as error:  # a result or error that does not pickle
            conn.send((False, (RuntimeError(f"a render task's answer could not be sent: {error}"), "")))
