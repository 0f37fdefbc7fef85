"""Every benchmark in bench/ still runs: its --quick mode, as a subprocess, exits 0 and
ends with its machine-readable line of key=number pairs. A new file in bench/ is run
without a change here; the runs are spread over the xdist workers one by one (see
pytest_xdist_make_scheduler in tests/conftest.py)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bench.support import SERVICE_MISSING, SERVICE_MISSING_TEXT
from tests.conftest import POSTGRES_URL, require_service

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = sorted(path.stem for path in (ROOT / "bench").glob("*.py") if path.stem != "support")
# A quick run takes seconds to a minute on a busy two-core machine; a hung one (a
# worker that never starts, say) must fail the suite, not stall it.
TIMEOUT_SECONDS = 300


class NotFigures(ValueError):
    pass


def parse_figures(line: str) -> dict[str, float]:
    """The benchmark's last line, `key=value ...` with every value a finite number."""
    figures = {}
    for pair in line.split():
        key, equals, value = pair.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not key or not equals or not math.isfinite(number):
            raise NotFigures(f"{pair!r} in {line!r} is not key=number")
        figures[key] = number
    if not figures:
        raise NotFigures("the last line is empty")
    return figures


def run_quick(name: str) -> subprocess.CompletedProcess:
    # The embedded Redis and a database of its own on the suite's PostgreSQL server,
    # whatever the caller's environment names for a full run.
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "BENCH_DATABASE_URL")}
    env["BENCH_POSTGRES_URL"] = POSTGRES_URL
    argv = [sys.executable, str(ROOT / "bench" / f"{name}.py"), "--quick"]
    process = subprocess.Popen(
        argv,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        # SIGINT first: the benchmark's finally blocks stop the servers and workers it
        # started, which SIGKILL would leave behind.
        os.killpg(process.pid, signal.SIGINT)
        try:
            stdout, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
        pytest.fail(
            f"{name} --quick ran over {TIMEOUT_SECONDS} s\n{stdout[-3000:]}\n{stderr[-3000:]}"
        )
    return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def test_every_benchmark_is_found():
    assert "send_campaign" in BENCHMARKS
    assert "webhooks" in BENCHMARKS
    assert "support" not in BENCHMARKS


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_runs_quickly_and_prints_its_figures(name):
    result = run_quick(name)

    if result.returncode == SERVICE_MISSING:
        service, _, problem = result.stderr.strip().splitlines()[-1].partition(SERVICE_MISSING_TEXT)
        require_service(service, problem)
    assert result.returncode == 0, (
        f"{name} --quick exited with {result.returncode}\n"
        f"{result.stdout[-3000:]}\n{result.stderr[-5000:]}"
    )
    lines = result.stdout.strip().splitlines()
    assert lines, f"{name} --quick printed nothing"
    assert parse_figures(lines[-1])


def test_figures_are_key_number_pairs():
    assert parse_figures("sqlite_ms=12.5 postgres_ms=3 ratio=0.20") == {
        "sqlite_ms": 12.5,
        "postgres_ms": 3.0,
        "ratio": 0.2,
    }


@pytest.mark.parametrize(
    "line",
    ["", "done", "rps=fast", "rps=", "=12", "rps=12 p99_ms=nan", "ratio=inf", "a=1 b"],
)
def test_a_last_line_that_is_not_figures_is_refused(line):
    with pytest.raises(NotFigures):
        parse_figures(line)
