"""Schemathesis generates requests from our own OpenAPI document and sends them to the
live gunicorn API: no answer may be a 5xx, and every answer must match the document."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpdesk.api.models import TokenKind
from helpdesk.api.scopes import SCOPES
from tests.factories import make_api_token

SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)


def test_generated_requests_get_no_server_error_and_answers_match_the_schema(
    api, api_server, session, admin, tmp_path
):
    secret = make_api_token(
        session, admin, kind=TokenKind.service, scopes=list(SCOPES), rate_limit=1_000_000
    )

    run = subprocess.run(
        [
            SCHEMATHESIS,
            "run",
            f"{api_server}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {secret}",
            "--checks",
            CHECKS,
            "--max-examples",
            "4",
            "--seed",
            "15",
            "--request-timeout",
            "20",
            "--suppress-health-check",
            "all",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )

    failures = run.stdout[run.stdout.find("FAILURES") :]
    assert run.returncode == 0, failures[:6000] + run.stdout[-3000:] + run.stderr[-2000:]
