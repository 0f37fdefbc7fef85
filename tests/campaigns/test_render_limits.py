"""Every render of a marketer's template is bounded: made values, loops, output, time.

The probes are those of issue 14; each must be refused quickly, with a message that
says which limit and on which line of the template.
"""

from __future__ import annotations

import time

import pytest

from helpdesk import template_sandbox
from helpdesk.campaigns.rendering import (
    CampaignContent,
    TemplateProblem,
    check_templates,
    render_for_delivery,
    sample_customer,
)

URLS = {"unsubscribe_url": "u", "view_in_browser_url": "v"}
# The 2 s budget plus room for a busy machine; the probe took 12 s before the limits.
QUICK = template_sandbox.MAX_RENDER_SECONDS + 3


def _problem(body: str) -> TemplateProblem:
    started = time.monotonic()
    problems = check_templates(CampaignContent(subject="s", html_body=body))
    assert time.monotonic() - started < QUICK
    assert len(problems) == 1, problems
    return problems[0]


def test_nested_loops_over_long_strings_stop_with_the_loop_line():
    body = '<p>Hi</p>\n{% for a in "x"*3000 %}{% for b in "x"*3000 %}{% endfor %}{% endfor %}'
    problem = _problem(body)
    assert (problem.part, problem.line) == ("HTML body", 2)
    assert "loops run more than 100,000 times" in problem.detail


def test_nested_loops_writing_output_stop_quickly_with_the_line():
    body = (
        '<p>Hi</p>\n{% for a in "x"*3000 %}{% for b in "x"*3000 %}{{ b }}{% endfor %}{% endfor %}'
    )
    problem = _problem(body)
    assert problem.line == 2
    # Which limit comes first depends on the machine's speed.
    assert "loops run more than" in problem.detail or "takes longer than" in problem.detail


def test_a_hundred_megabyte_string_is_refused_before_it_is_made():
    problem = _problem('<p>Hi</p>\n\n{{ "x"*10**8 }}')
    assert problem.line == 3
    assert "more than 2,000,000 characters" in problem.detail


@pytest.mark.parametrize(
    "expression",
    [
        "[1] * 10**8",
        '"x" * 1000000 + "y" * 1500000',
        '"x".ljust(10**9)',
        '"x".zfill(10**9)',
        r'"\t".expandtabs(10**9)',
        '("x" * 1000000).replace("x", "yyyyy")',
        '"{:>1000000000}".format(1)',
        '"{:>{}}".format(1, 10**9)',
        '"%01000000000d" % 1',
        '"%*d" % (10**9, 1)',
        '"x" | center(10**9)',
        r'("x\n" * 100000) | indent(1000)',
        '"%01000000000d" | format(1)',
        '("x" * 1000000) | replace("x", "yyyyy")',
        '("x" * 1000000) | join("y" * 1000000)',
        "[1, 2] | batch(10**8, 0) | list",
        "([[1]] * 500000) | sum(start=[])",
        '"x" * 1000000 ~ "y" * 1000000 ~ "z" * 1000000',
        "2 ** 100000",
        "(10 ** 1000) * (10 ** 1000)",
    ],
)
def test_operations_that_would_make_too_much_are_refused(expression):
    problem = _problem(f"<p>Hi</p>\n{{{{ {expression} }}}}")
    assert problem.line == 2
    assert (
        "more than" in problem.detail
        or "not allowed" in problem.detail
        or ("too large" in problem.detail or "numbers only" in problem.detail)
    )


def test_output_longer_than_the_limit_is_refused():
    problem = _problem('{% for i in "x" * 3000 %}{{ "y" * 1000 }}{% endfor %}')
    assert "more than 2,000,000 characters" in problem.detail


def test_text_made_inside_a_block_counts_although_it_is_never_output():
    body = '{% set x %}{% for i in "x" * 99999 %}{{ "y" * 1000000 }}{% endfor %}{% endset %}'
    problem = _problem(body)
    assert "more than 20,000,000 characters in all" in problem.detail


def test_a_recursive_loop_counts_its_inner_iterations(monkeypatch):
    monkeypatch.setattr(template_sandbox, "MAX_LOOP_ITERATIONS", 1000)
    problem = _problem(
        '{% for x in "ab" recursive %}{% if loop.depth < 12 %}{{ loop("ab") }}{% endif %}'
        "{% endfor %}"
    )
    assert "loops run more than 1,000 times" in problem.detail


def test_a_macro_that_calls_itself_is_reported():
    problem = _problem("<p>Hi</p>\n{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}")
    assert "calls itself" in problem.detail


def test_a_render_past_its_time_stops_with_the_line_it_reached(monkeypatch):
    monkeypatch.setattr(template_sandbox, "MAX_RENDER_SECONDS", 0.05)
    body = '<p>Hi</p>\n{% for i in "x" * 99000 %}\n{{ customer.name | upper }}\n{% endfor %}'
    problem = _problem(body)
    assert problem.line in (2, 3)
    assert "takes longer than 0.05 seconds" in problem.detail


def test_a_real_newsletter_renders_within_the_limits():
    rows = "".join(
        f"<tr><td>Product {n}</td><td>{{{{ customer.name }}}}</td></tr>\n" for n in range(200)
    )
    body = (
        "<html><body><h1>Hello {{ customer.first_name | default('reader') | title }}</h1>\n"
        f"<table>{rows}</table>\n"
        '{% for i in "x" * 5000 %}<p>{{ loop.index }}: {{ "%05d" | format(i | length) }}</p>'
        "{% endfor %}\n"
        '{{ "{:>10}".format(customer.purchases.total) }} {{ customer.email.replace("@", " at ") }}'
        '{{ "-".join(customer.name.split()) }} '
        '{{ customer.name.split() | map("upper") | join("+") }}'
        "</body></html>"
    )
    subject, html, text = render_for_delivery(
        CampaignContent(subject="News for {{ customer.name }}", html_body=body),
        sample_customer(),
        URLS,
    )
    assert subject == "News for Sample Customer"
    assert "<p>5000: 00001</p>" in html
    assert "sample at example.com" in html
    assert "Sample-Customer SAMPLE+CUSTOMER" in html


@pytest.mark.parametrize(
    "mutation",
    [
        "customer.pop('name')",
        "customer.update({'name': 'x'})",
        "customer.clear()",
        "customer.custom.setdefault('vip', 1)",
    ],
)
def test_templates_cannot_change_the_data_they_are_given(mutation):
    customer = sample_customer()
    with pytest.raises(TemplateProblem, match="unsafe"):
        render_for_delivery(
            CampaignContent(subject="s", html_body=f"{{{{ {mutation} }}}}"), customer, URLS
        )
    assert customer == sample_customer()
