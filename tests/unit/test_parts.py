"""Render work in forked processes: results in order and bounded, errors raised, the same files."""

from __future__ import annotations

import _multiprocessing
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from gridtsne.core.assign import cell_targets
from gridtsne.core.thumbs import ThumbSpool
from gridtsne.output.files import render_outputs
from gridtsne.output.layout import Layout
from gridtsne.output.parts import PARALLEL_FROM, WORKERS_ENV, Parts, render_workers, run_parts
from gridtsne.output.render import mosaic, scatter


def started(log: Path, index: int) -> tuple[int, int]:
    """A task: note its start in ``log`` (appends from several processes), answer its number and process."""
    with log.open("a") as handle:
        handle.write(f"{index}\n")
    return index, os.getpid()


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_results_come_in_order_and_workers_run_boundedly_ahead(tmp_path: Path, workers: int) -> None:
    log = tmp_path / "started"
    log.touch()
    seen: list[int] = []
    pids: set[int] = set()

    def gather(results: Iterator[tuple[int, int]]) -> list[int]:
        for index, pid in results:
            seen.append(index)
            pids.add(pid)
            assert len(log.read_text().split()) <= index + 1 + 2 * workers  # never far ahead of the reader
        return seen

    tasks = [partial(started, log, i) for i in range(40)]
    second = Parts([partial(started, log, 100 + i) for i in range(3)], lambda r: [i for i, _ in r], sum)
    products = run_parts([Parts(tasks, gather, len), second], workers)
    assert products == [40, 303]
    assert seen == list(range(40))
    assert len(pids) == workers and (workers > 1) == (os.getpid() not in pids)


def fails() -> None:
    raise ValueError("no such picture")


def dies() -> None:
    os._exit(3)


def test_a_task_error_is_raised_in_the_parent() -> None:
    parts = Parts([partial(int, "1"), fails, partial(int, "2")], list, len)
    with pytest.raises(ValueError, match="no such picture") as raised:
        run_parts([parts], 2)
    assert "in fails" in raised.value.__notes__[0]  # where in the worker


def test_workers_are_forked_from_any_thread() -> None:
    """A server renders from a request's thread: the forked worker's only thread is its main one."""
    parts = Parts([partial(os.getpid) for _ in range(4)], set, len)
    with ThreadPoolExecutor(1) as thread:
        assert thread.submit(run_parts, [parts], 2).result() == [2]


def test_a_worker_that_dies_fails_the_render() -> None:
    parts = Parts([partial(int, "1"), dies, partial(int, "2")], list, len)
    with pytest.raises(RuntimeError, match="ended without answering"):
        run_parts([parts], 2)


def test_no_shared_memory_semaphore_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS Lambda has no /dev/shm: multiprocessing's locks, queues and pools fail there, pipes work."""

    def refused(*args: object, **kwargs: object) -> None:
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(_multiprocessing, "SemLock", refused)
    with pytest.raises(OSError):
        multiprocessing.get_context("fork").Lock()
    parts = Parts([partial(os.getpid) for _ in range(4)], set, len)
    assert run_parts([parts], 2) == [2]


def test_the_number_of_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    assert render_workers(PARALLEL_FROM - 1) == 1
    assert render_workers(PARALLEL_FROM) == len(os.sched_getaffinity(0))
    monkeypatch.setenv(WORKERS_ENV, "5")
    assert render_workers(10) == 5


def test_mosaic_and_scatter_are_the_same_pictures_from_several_workers() -> None:
    rng = np.random.default_rng(3)
    n, rows, cols = 150, 11, 14
    thumbs = rng.integers(0, 256, (n, 12, 12, 3), dtype=np.uint8)
    cells = cell_targets(n, rows, cols)[rng.permutation(n)]
    points = rng.normal(size=(n, 2)) * [1.0, 0.1]  # crowded: later points cover earlier ones
    one = np.asarray(mosaic(thumbs, cells, rows, cols, side=5, background=(9, 8, 7)))
    one_scatter = np.asarray(scatter(points, thumbs, size=120, thumb=16))
    for workers in (2, 4):
        assert (
            np.asarray(mosaic(thumbs, cells, rows, cols, side=5, background=(9, 8, 7), workers=workers))
            == one
        ).all()
        assert (np.asarray(scatter(points, thumbs, size=120, thumb=16, workers=workers)) == one_scatter).all()


def test_the_files_are_the_same_bytes_whatever_the_workers() -> None:
    rng = np.random.default_rng(4)
    n, rows, cols, tile = 200, 12, 20, 16
    cells = cell_targets(n, rows, cols)[rng.permutation(n)]
    layout = Layout(rows, cols, tile, [f"{i}.png" for i in range(n)], cells, rng.normal(size=(n, 2)))
    outputs = []
    with ThumbSpool(n, tile) as spool:  # one file read by offset from every worker
        spool.write(0, rng.integers(0, 256, (n, tile, tile, 3), dtype=np.uint8))
        for workers in (1, 3):
            written: dict[str, bytes] = {}
            files = render_outputs(
                layout,
                spool,
                write_tiles=lambda name, f, written=written: written.update({name: f.read()}),
                max_side=200,
                workers=workers,
            )
            outputs.append(
                {**written, "mosaic.jpg": files["mosaic.jpg"], "scatter.png": files["scatter.png"]}
            )
    assert set(outputs[0]) == {"tiles.pmtiles", "keys.bin", "mosaic.jpg", "scatter.png"}
    assert outputs[1] == outputs[0]
