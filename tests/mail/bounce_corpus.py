"""The bounce corpus (tests/data/bounces): every message classified the way ingest
classifies mail, and compared with tests/data/bounces/expected.json.

`python -m tests.mail.bounce_corpus` prints `bounce_accuracy=<0..1>`; a benchmark imports
`run_corpus` and `accuracy`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from helpdesk.mail.parse import Kind, ParsedMail, parse_message

CORPUS = Path(__file__).resolve().parent.parent / "data" / "bounces"
# What ingest passes (tickets.ingest.parse_incoming): the mailbox addresses and its loop header.
OWN_ADDRESSES = frozenset({"support@helpdesk.test"})
LOOP_HEADER = "X-Helpdesk-Loop"
# Kinds that must never reach a ticket.
REPORT_KINDS = {Kind.bounce, Kind.delivery_receipt, Kind.complaint}


@dataclass(frozen=True)
class Expected:
    kind: Kind
    recipients: tuple[str, ...]
    hard: bool | None
    status: str | None


@dataclass(frozen=True)
class Outcome:
    name: str
    expected: Expected
    kind: Kind
    recipients: tuple[str, ...]
    hard: bool | None
    status: str | None
    quarantine_reason: str | None

    @property
    def right(self) -> bool:
        """Kind, recipients and (for bounces) hard or soft as expected."""
        return (
            self.kind == self.expected.kind
            and self.recipients == self.expected.recipients
            and self.hard == self.expected.hard
        )

    @property
    def would_open_ticket(self) -> bool:
        return self.expected.kind in REPORT_KINDS and self.kind == Kind.normal


def expectations() -> dict[str, Expected]:
    data = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
    return {
        name: Expected(
            kind=Kind(entry["kind"]),
            recipients=tuple(entry["recipients"]),
            hard=entry["hard"],
            status=entry["status"],
        )
        for name, entry in data.items()
    }


def parse_file(name: str) -> ParsedMail:
    return parse_message(
        (CORPUS / name).read_bytes(), own_addresses=OWN_ADDRESSES, loop_header=LOOP_HEADER
    )


def outcome(name: str, expected: Expected) -> Outcome:
    parsed = parse_file(name)
    report = parsed.bounce if parsed.kind in REPORT_KINDS else None
    return Outcome(
        name=name,
        expected=expected,
        kind=parsed.kind,
        recipients=report.recipients if report else (),
        hard=report.hard if report and parsed.kind == Kind.bounce else None,
        status=report.status if report and parsed.kind != Kind.complaint else None,
        quarantine_reason=parsed.quarantine_reason,
    )


def run_corpus() -> list[Outcome]:
    return [outcome(name, expected) for name, expected in sorted(expectations().items())]


def accuracy(outcomes: list[Outcome]) -> float:
    return sum(o.right for o in outcomes) / len(outcomes) if outcomes else 0.0


def main() -> None:
    outcomes = run_corpus()
    print(f"bounce_accuracy={accuracy(outcomes):.4f}")
    for wrong in (o for o in outcomes if not o.right):
        print(f"  {wrong.name}: got {wrong.kind} {wrong.recipients} hard={wrong.hard}")


if __name__ == "__main__":
    main()
