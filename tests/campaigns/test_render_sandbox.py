"""Templates run in the sandbox: SSTI payloads fail or render nothing dangerous."""

from __future__ import annotations

import pytest

from helpdesk.campaigns.rendering import (
    CampaignContent,
    TemplateProblem,
    check_templates,
    render_for_delivery,
    sample_customer,
)

URLS = {"unsubscribe_url": "u", "view_in_browser_url": "v"}


def _outcome(body: str) -> str:
    """The rendered HTML, or the error message when rendering refuses."""
    try:
        return render_for_delivery(
            CampaignContent(subject="s", html_body=body), sample_customer(), URLS
        )[1]
    except TemplateProblem as problem:
        return f"refused: {problem}"


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "{{ customer.name.__class__.__base__.__subclasses__() }}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ request.application.__globals__ }}",
        "{{ self._TemplateReference__context }}",
        "{{ customer.__class__ }}",
        "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    ],
)
def test_payload_reaching_python_internals_is_refused_or_empty(payload):
    outcome = _outcome(payload)
    assert outcome.startswith("refused:") or outcome.strip() in ("", "<p></p>")
    assert "uid=" not in outcome
    assert "<class" not in outcome and "&lt;class" not in outcome


@pytest.mark.parametrize("payload", ["{{ config }}", "{{ request }}", "{{ settings }}"])
def test_application_objects_are_not_in_the_context(payload):
    assert _outcome(payload) == ""


def test_self_renders_no_internals():
    outcome = _outcome("{{ self }}")
    assert "secret" not in outcome.lower()
    assert "__" not in outcome


def test_reaching_python_internals_is_reported_on_save():
    problems = check_templates(
        CampaignContent(subject="ok", html_body="<p>Hi</p>\n{{ ''.__class__.__mro__ }}")
    )
    assert [(p.part, p.line) for p in problems] == [("HTML body", 2)]
    assert "unsafe" in problems[0].detail


def test_no_globals_are_available():
    assert _outcome("{{ range }}{{ dict }}{{ namespace }}") == ""
