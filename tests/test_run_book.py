"""The runs the model keeps (model/run_book.py): the newest MAX_RUNS, each until it is over."""

from __future__ import annotations

from dashboard.model.run_book import MAX_RUNS, RunBook
from dashboard.model.runs import Run


def test_the_newest_runs_are_kept_and_the_oldest_forgotten_first():
    """Memory stays bounded however many bursts are fired (the results table says how many)."""
    book = RunBook()
    for n in range(MAX_RUNS + 2):
        book.keep(Run(f"r{n}", "io", 1, 0))
    assert len(book) == MAX_RUNS
    assert (next(iter(book)), list(book)[-1]) == ("r2", f"r{MAX_RUNS + 1}")


def test_a_run_the_generator_left_open_ends_with_the_reason_it_is_given():
    """The load control ends a run whose generator exited: it is no longer active, and says why;
    an id the book does not keep changes nothing."""
    book = RunBook()
    book.keep(Run("r1", "io", 1, 0))
    assert [run.id for run in book.active(0)] == ["r1"]
    book.finish("r1", 5, "the load generator exited")
    book.finish("r9", 5, "unknown")
    assert book.active(10) == [] and list(book) == ["r1"]
    assert (book["r1"].state(10), book["r1"].reason) == ("failed", "the load generator exited")
