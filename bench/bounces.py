"""How well and how fast incoming mail is classified: the bounce corpus (tests/data/bounces,
real delivery reports, complaints, auto-replies and normal mail from many mail systems)
parsed the way ingest parses it and compared with its expected.json.

Accuracy counts a message right when its kind, its recipients and (for bounces) hard or
soft are as expected, as tests/mail/test_bounce_corpus.py checks them one by one. The
time is that of `parse_message` per message (what the poller's parse processes spend),
the median over all messages of the fastest of the rounds.

    .venv/bin/python bench/bounces.py [--rounds 5]
    .venv/bin/python bench/bounces.py --quick    (one round)

The last line is machine-readable:
bounce_accuracy=... messages=... wrong=... median_classify_ms=... p95_classify_ms=...
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.mail.bounce_corpus import accuracy, expectations, outcome, parse_file  # noqa: E402


def classify_times(names: list[str], rounds: int) -> list[float]:
    """Per message, the fastest of `rounds` classifications in milliseconds."""
    best = dict.fromkeys(names, float("inf"))
    for _ in range(rounds):
        for name in names:
            started = time.perf_counter()
            parse_file(name)
            best[name] = min(best[name], (time.perf_counter() - started) * 1000)
    return [best[name] for name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="one round")
    args = parser.parse_args()
    rounds = 1 if args.quick else max(1, args.rounds)

    expected = expectations()
    outcomes = [outcome(name, expected[name]) for name in sorted(expected)]
    wrong = [o for o in outcomes if not o.right]
    for o in wrong:
        print(f"  wrong: {o.name}: expected {o.expected.kind}, got {o.kind} {o.recipients}")
    times = classify_times(sorted(expected), rounds)
    p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
    print(f"{len(outcomes)} messages, {rounds} round(s), {len(wrong)} classified wrongly")
    print(
        f"bounce_accuracy={accuracy(outcomes):.4f} messages={len(outcomes)} wrong={len(wrong)} "
        f"median_classify_ms={statistics.median(times):.3f} p95_classify_ms={p95:.3f}"
    )


if __name__ == "__main__":
    main()
