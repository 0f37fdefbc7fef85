"""Server-drawn SVG charts: titled for screen readers, labelled axes, escaped text."""

from helpdesk import charts


def test_bar_chart_has_title_description_axes_and_one_bar_per_value():
    svg = charts.bar_chart(
        ["03-01", "03-02"],
        [charts.Series("New", [3, 5]), charts.Series("Resolved", [1, 0])],
        title="Tickets per day",
        x_title="Day (Asia/Seoul)",
        y_title="Tickets",
        description="8 new tickets",
    )
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'role="img"' in svg and 'aria-label="Tickets per day"' in svg
    assert "<title>Tickets per day</title>" in svg and "<desc>8 new tickets</desc>" in svg
    assert ">Day (Asia/Seoul)</text>" in svg and ">Tickets</text>" in svg
    assert svg.count("<rect") == 4
    assert "<title>03-02, New: 5</title>" in svg
    assert ">New (8)</text>" in svg  # the legend carries the total


def test_line_chart_escapes_labels_and_gives_units():
    svg = charts.line_chart(
        ["<b>Spring</b>", "Summer"],
        [charts.Series("Open rate", [40.0, 55.5])],
        title="Rates & trends",
        x_title="Campaign",
        y_title="%",
        unit="%",
    )
    assert "<b>" not in svg and "&lt;b&gt;Spring&lt;/b&gt;" in svg
    assert "Rates &amp; trends" in svg
    assert "<title>Summer: 55.5%</title>" in svg
    assert "<polyline" in svg


def test_empty_chart_still_draws_axes():
    svg = charts.bar_chart([], [charts.Series("New", [])], title="Empty", x_title="x", y_title="y")
    assert "<title>Empty</title>" in svg and "<rect" not in svg and ">0</text>" in svg
