"""A CloudWatch dashboard's body (its JSON document), laid out as CDK's Dashboard lays out rows.

Written directly from stacks/constructs/model_monitoring.py's plain metrics: a 200-model catalogue has
thousands of metrics, and building each as a CDK object cost a jsii round trip. The format is CloudWatch's
"Dashboard Body Structure and Syntax".
"""

import json

from stacks.constructs.model_monitoring import PERIOD_SECONDS, Expression, Graph, Metric

GRID_WIDTH = 24


class DashboardBody:
    """Rows of widgets, each row starting below the last; ``text`` and ``graphs`` add a row."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.widgets: list[dict] = []
        self._top = 0

    def text(self, markdown: str) -> None:
        self._row([({"type": "text", "properties": {"markdown": markdown}}, GRID_WIDTH, 1)])

    def graphs(self, graphs: list[Graph], width: int = 6, height: int = 5) -> None:
        self._row([(self._graph(graph), width, height) for graph in graphs])

    def render(self) -> str:
        return json.dumps({"widgets": self.widgets}, separators=(",", ":"))

    def _row(self, widgets: list[tuple[dict, int, int]]) -> None:
        left, row_height = 0, 0
        for widget, width, height in widgets:
            if left + width > GRID_WIDTH:  # wrap, as CDK's Row does
                self._top, left, row_height = self._top + row_height, 0, 0
            self.widgets.append({**widget, "x": left, "y": self._top, "width": width, "height": height})
            left, row_height = left + width, max(row_height, height)
        self._top += row_height

    def _graph(self, graph: Graph) -> dict:
        metrics = [row for series in graph.left for row in _series(series, "left")]
        metrics += [row for series in graph.right for row in _series(series, "right")]
        for number, row in enumerate(r for r in metrics if "expression" in r[-1]):
            row[-1]["id"] = f"expression{number}"
        properties = {
            "view": "timeSeries",
            "title": graph.title,
            "region": self.region,
            "metrics": metrics,
            "period": PERIOD_SECONDS,
        }
        return {"type": "metric", "properties": properties}


def _series(series: Metric | Expression, axis: str) -> list[list]:
    """The dashboard's rows for one series: a metric, or an expression and the hidden metrics it reads."""
    if isinstance(series, Metric):
        return [_metric_row(series, {"label": series.label or series.name, "yAxis": axis})]
    rows = [[{"expression": series.expression, "label": series.label, "yAxis": axis}]]
    for identifier, metric in series.metrics.items():
        rows.append(_metric_row(metric, {"id": identifier, "visible": False}))
    return rows


def _metric_row(metric: Metric, options: dict) -> list:
    dimensions = [part for name, value in metric.dimensions.items() for part in (name, value)]
    return [
        metric.namespace,
        metric.name,
        *dimensions,
        {"stat": metric.statistic, "period": PERIOD_SECONDS, **options},
    ]
