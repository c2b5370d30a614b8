"""The fold (metrics_counters_fold, migration 20261208001000) moves rollup rows into shard 0
while writers keep adding to them. It must skip a row an open transaction holds, make a writer
that reaches a row it is folding wait and then write a fresh row, and never lose or double an
attempt — checked with real backends: a writer holding a row open across a fold, and writers
racing two folding loops."""

from __future__ import annotations

import random
import threading
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]

# One attempt kind counted n times, as the job_results triggers call it, in the writer's shard.
COUNT = """
select private.attempts_count(array[row(row(%s::timestamptz, 'dir-race', 'success'::attempt_outcome,
         true, false, false, null, false, null, false)::private.attempt_kind,
         %s)::private.attempt_kind_count],
       pg_backend_pid())
"""
TOTAL = """
select coalesce(sum(attempts), 0)::int from private.attempt_rollups
 where directory_id = 'dir-race' and bucket_hours = 1
"""
TEN, ELEVEN = "2026-12-01 10:00+00", "2026-12-01 11:00+00"


def _total(conn: Conn) -> int:
    row = conn.execute(TOTAL).fetchone()
    assert row is not None
    return int(row[0])


def _fold(conn: Conn) -> int:
    row = conn.execute("select metrics_counters_fold()").fetchone()
    assert row is not None
    return int(row[0])


def test_a_fold_skips_a_held_row_and_a_writer_behind_the_fold_loses_nothing(
    db_url: str, conn: Conn
) -> None:
    # A fold that waited for the held row instead of skipping it would wait for ever (the
    # writer is this thread): the lock timeout turns that into a failure.
    with (
        psycopg.connect(db_url) as writer,
        psycopg.connect(db_url, options="-c lock_timeout=5s") as folder,
    ):
        writer.execute(COUNT, (TEN, 5))
        writer.commit()
        writer.execute(COUNT, (ELEVEN, 7))
        writer.commit()
        writer.execute(COUNT, (TEN, 1))  # the ten o'clock row is now held, uncommitted

        assert _fold(folder) > 0  # the eleven o'clock row moved; the held one was skipped
        done = threading.Event()

        def write_behind_the_fold() -> None:
            # The fold still holds the eleven o'clock row it deleted: this waits for it.
            writer.execute(COUNT, (ELEVEN, 2))
            writer.commit()
            done.set()

        thread = threading.Thread(target=write_behind_the_fold)
        thread.start()
        assert not done.wait(0.5), "the writer went through a row the fold still held"
        folder.commit()
        thread.join(10)
        assert done.is_set()

    assert _total(conn) == 5 + 7 + 1 + 2
    _fold(conn)
    assert _total(conn) == 15
    shards = conn.execute(
        "select count(*) from private.attempt_rollups"
        " where directory_id = 'dir-race' and shard <> 0"
    ).fetchone()
    assert shards == (0,), "with every writer gone, a fold leaves only shard 0"


def test_writers_racing_two_fold_loops_count_every_attempt_once(db_url: str, conn: Conn) -> None:
    stop = threading.Event()
    failures: list[BaseException] = []
    written = [0] * 4

    def fold_loop() -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as c:
                while not stop.is_set():
                    _fold(c)
        except BaseException as error:  # reported below: a thread's failure fails the test
            failures.append(error)

    def write(n: int) -> None:
        rng = random.Random(n)
        try:
            with psycopg.connect(db_url) as c:
                for i in range(150):
                    c.execute(COUNT, (f"2026-12-0{1 + i % 3} 1{i % 5}:00+00", 1))
                    written[n] += 1
                    if rng.random() < 0.5:  # a second row in the same transaction
                        c.execute(COUNT, (TEN, 1))
                        written[n] += 1
                    c.commit()
        except BaseException as error:
            failures.append(error)

    folders = [threading.Thread(target=fold_loop) for _ in range(2)]
    writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in folders + writers:
        thread.start()
    for thread in writers:
        thread.join(120)
    stop.set()
    for thread in folders:
        thread.join(30)

    assert not failures, failures
    assert _total(conn) == sum(written)
    folded = conn.execute(
        "select count(*) from private.attempt_rollups where directory_id = 'dir-race'"
        " and bucket_hours = 1 and shard = 0"
    ).fetchone()
    assert folded is not None
    assert folded[0] > 0, "the folds moved rows while writers wrote"
