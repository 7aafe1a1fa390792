"""The Analyse page as HTML: one Jinja2 macro renders its sections (summary, charts, the
numbers beneath each chart), used by the standalone file the weekly flow writes and by the
workbench's page, so both show the same thing.

Charts are embedded as ``<img src="data:image/svg+xml;base64,…">``: an SVG loaded as an image
never runs script, whatever text (a product title, an attribute name) ended up in it, and the
file works offline, with no request of its own.
"""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict, defaultdict
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from reports.charts import Chart, charts_for
from reports.quality import QualityReport

TEMPLATES_DIR = Path(__file__).parent / "templates"


def environment(*extra_dirs: Path) -> Environment:
    """A Jinja2 environment that autoescapes HTML and can load the report templates (and
    ``extra_dirs`` first, for a caller's own layout)."""
    env = Environment(
        loader=FileSystemLoader([*map(str, extra_dirs), str(TEMPLATES_DIR)]),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["svg_data_uri"] = svg_data_uri
    env.filters["percent"] = lambda v: f"{100 * float(v):.1f} %"
    return env


_charts: OrderedDict[tuple[str, str], dict[str, Chart]] = OrderedDict()
_charts_lock = threading.Lock()


def analyse_context(report: QualityReport) -> dict[str, Any]:
    """What the Analyse sections need: the report, its charts, and per-field tallies. Charts
    are built once per report (a cached report is shown again without rebuilding them)."""
    key = (report.catalog, report.generated_at.isoformat())
    with _charts_lock:
        charts = _charts.get(key)
    if charts is None:
        charts = {c.key: c for c in charts_for(report)}
        with _charts_lock:
            _charts[key] = charts
            while len(_charts) > 16:
                _charts.popitem(last=False)
    return {
        "report": report,
        "charts": charts,
        "proposals": proposals_by_field(report),
        "queue_now": report.queue[-1].queued if report.queue else 0,
        "queue_peak": max((p.queued for p in report.queue), default=0),
    }


def proposals_by_field(report: QualityReport) -> list[dict[str, Any]]:
    """Per field, how many proposals ended in each status (the confidence chart's table)."""
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for b in report.confidence:
        table[b.field][b.status] += b.count
    return [
        {"field": field, "total": sum(counts.values()), **counts}
        for field, counts in sorted(table.items())
    ]


def render_quality_page(report: QualityReport) -> str:
    """A self-contained HTML page (inline CSS, inline charts) of ``report``."""
    return environment().get_template("quality_page.html").render(**analyse_context(report))


def write_quality_page(report: QualityReport, path: Path) -> Path:
    """Write the page to ``path`` (through a temporary file, so a reader never sees half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(render_quality_page(report), encoding="utf-8")
    partial.replace(path)
    return path


def svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


__all__ = ["Chart", "analyse_context", "environment", "render_quality_page", "write_quality_page"]
