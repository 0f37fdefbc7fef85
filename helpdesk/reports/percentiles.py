"""Count, median and 90th percentile of durations, overall and per key: one query on
PostgreSQL, computed over the rows on SQLite, which has no percentile function."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class DurationStats:
    """How many durations, their median and 90th percentile, in seconds (None if none)."""

    count: int = 0
    median: float | None = None
    p90: float | None = None


NO_DURATIONS = DurationStats()


@dataclass(frozen=True)
class Durations:
    """Stats over all the durations, and per key (the assignee; None for unassigned)."""

    overall: DurationStats
    by_key: dict[object, DurationStats]

    def of(self, key) -> DurationStats:
        return self.by_key.get(key, NO_DURATIONS)


def duration_stats(session: Session, durations) -> Durations:
    """Count, median and 90th percentile of a subquery with columns `key` and `seconds`,
    over all its rows and per key.

    The percentile is the one PostgreSQL's percentile_cont computes (linear interpolation
    between closest ranks, Excel's PERCENTILE.INC): for the n values sorted ascending,
    x[0] … x[n-1], and p in [0, 1], take h = (n - 1)·p and return
    x[⌊h⌋] + (h - ⌊h⌋)·(x[⌊h⌋ + 1] - x[⌊h⌋]). The median is p = 0.5 (the mean of the two
    middle values when n is even). PostgreSQL computes it in one query (grouping sets);
    SQLite, which has no percentile function, returns the rows and `_durations_of_rows`
    computes it.
    """
    d = durations
    if session.get_bind().dialect.name != "postgresql":
        return _durations_of_rows(session.execute(select(d.c.key, d.c.seconds)))
    query = select(
        func.grouping(d.c.key),
        d.c.key,
        func.count(),
        func.percentile_cont(0.5).within_group(d.c.seconds),
        func.percentile_cont(0.9).within_group(d.c.seconds),
    ).group_by(func.grouping_sets(d.c.key, tuple_()))
    overall, by_key = NO_DURATIONS, {}
    for is_overall, key, n, median, p90 in session.execute(query):
        if not n:
            continue  # the overall grouping of no rows at all
        stats = DurationStats(int(n), float(median), float(p90))
        if is_overall:
            overall = stats
        else:
            by_key[key] = stats
    return Durations(overall, by_key)


def _durations_of_rows(rows) -> Durations:
    """SQLite has no percentile function: the (key, seconds) rows are read and the same
    percentiles computed here (reading them costs less than sorting them twice in SQL)."""
    everything: list[float] = []
    per_key: dict[object, list[float]] = defaultdict(list)
    for key, seconds in rows:
        everything.append(seconds)
        per_key[key].append(seconds)
    return Durations(
        _stats_of(everything), {key: _stats_of(values) for key, values in per_key.items()}
    )


def _stats_of(values: list[float]) -> DurationStats:
    if not values:
        return NO_DURATIONS
    values.sort()
    return DurationStats(len(values), _percentile(values, 0.5), _percentile(values, 0.9))


def _percentile(ordered: list[float], p: float) -> float:
    h = (len(ordered) - 1) * p
    low = int(h)
    if low + 1 == len(ordered):
        return float(ordered[low])
    return ordered[low] + (h - low) * (ordered[low + 1] - ordered[low])
