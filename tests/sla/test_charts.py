"""The dashboard's SVG bar charts (sla/charts.py): labels that fit, and no empty axes."""

from django.template.loader import render_to_string

from sla.charts import WIDTH, bar_chart


def items(n, value=50):
    return [{"label": f"P{i % 4 + 1}", "sublabel": "Resolution", "value": value} for i in range(n)]


def test_short_labels_stay_upright():
    names = ["Jan", "Feb", "Mrt", "Apr", "Mei", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dec"]
    months = [{"label": m, "value": 3} for m in names]
    assert not bar_chart(months).turned
    chart = bar_chart(items(4), maximum=100)  # "Resolution" fits a quarter of the width
    assert not chart.turned
    assert all(bar.cx == round(bar.x + bar.width / 2, 1) for bar in chart.bars)


def test_many_bars_turn_their_labels_and_make_room_below():
    upright, turned = bar_chart(items(4), maximum=100), bar_chart(items(16), maximum=100)
    assert turned.turned
    assert turned.height > upright.height  # room for the turned labels under the bars
    # the plot keeps its height: a full bar is as tall in both
    full = [bar_chart(items(n, 100), maximum=100).bars[0].height for n in (4, 16)]
    assert full[0] == full[1]
    html = render_to_string("sla/_bar_chart.html", {"chart": turned, "title": "t", "suffix": ""})
    assert html.count("rotate(-40 ") == 16
    assert f'viewBox="0 0 {WIDTH} {turned.height}"' in html
    assert "P1 Resolution" in html  # label and sublabel on one turned line


def test_a_chart_without_values_says_so():
    assert not bar_chart([{"label": "jan", "value": None}] * 12, maximum=5).has_values
    assert bar_chart([{"label": "jan", "value": None}, {"label": "feb", "value": 4}]).has_values
