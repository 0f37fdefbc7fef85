"""Fixtures of the survey tests; the factories are in tests/surveys/support.py."""

from __future__ import annotations

import pytest

from tests.surveys.support import make_survey_mailbox


@pytest.fixture
def survey_mailbox(session):
    return make_survey_mailbox(session)
