"""The Analyse page's charts: Vega-Lite specs (built with Altair) rendered to SVG on the server
by ``vl-convert``, so they need no script, no CDN and no network to show.

Rendering a spec costs ~20–40 ms once the converter is warm; identical specs (the same data)
are served from a small cache, so re-opening the page while nothing changed is cheap.
Altair and vl-convert are imported on first use (together ~1 s), not when skuflow starts.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from reports.quality import QualityReport

STATUS_COLOURS = {
    "applied": "#2f855a",
    "approved": "#68d391",
    "queued_for_review": "#d69e2e",
    "rejected": "#c53030",
    "dropped": "#a0aec0",
    "rolled_back": "#805ad5",
    "superseded": "#cbd5e0",
}
WIDTH = 560
_CACHE_SIZE = 64
_cache: OrderedDict[str, str] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class Chart:
    """One rendered chart: a key for anchors, a title, the SVG, and a sentence for people who
    cannot see it (the page also lists the numbers in a table)."""

    key: str
    title: str
    svg: str | None
    caption: str
    empty: str = ""
    """Why there is no chart yet (no changes, no decisions, no validation run)."""


def charts_for(report: QualityReport) -> list[Chart]:
    """Every Analyse chart for ``report``, in page order."""
    return [
        completeness_chart(report),
        confidence_chart(report),
        reliability_chart(report),
        queue_chart(report),
        validation_chart(report),
    ]


def completeness_chart(report: QualityReport) -> Chart:
    caption = "Share of records holding a value, per attribute; colour says what fills it."
    if not report.records:
        return Chart("completeness", "Completeness per attribute", None, caption, "No records.")
    alt = _altair()
    data = [
        {
            "attribute": c.attribute,
            "share": round(c.share, 4),
            "filled": c.filled,
            "filled by": _filler(c.filled_by),
        }
        for c in report.completeness
    ]
    chart = (
        alt.Chart(alt.Data(values=data))
        .mark_bar()
        .encode(
            y=alt.Y("attribute:N", sort="-x", title=None),
            x=alt.X(
                "share:Q",
                axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1]),
                title="records with a value",
            ),
            color=alt.Color("filled by:N", legend=alt.Legend(orient="bottom", title=None)),
            tooltip=["attribute:N", "filled:Q", alt.Tooltip("share:Q", format=".1%")],
        )
        .properties(width=WIDTH, height=max(120, 16 * len(data)))
    )
    return Chart("completeness", "Completeness per attribute", render(chart), caption)


def confidence_chart(report: QualityReport) -> Chart:
    caption = (
        "Models' proposals per field by confidence, coloured by what became of them; the dashed "
        "lines are the catalogue's reject and auto-apply thresholds."
    )
    if not report.confidence:
        return Chart("confidence", "Confidence per field", None, caption, "No proposals yet.")
    alt = _altair()
    statuses = [s for s in STATUS_COLOURS if any(b.status == s for b in report.confidence)]
    statuses += sorted({b.status for b in report.confidence} - set(statuses))
    colour = alt.Color(
        "status:N",
        scale=alt.Scale(
            domain=statuses, range=[STATUS_COLOURS.get(s, "#718096") for s in statuses]
        ),
        legend=alt.Legend(orient="bottom", title=None),
    )
    fields = sorted({b.field for b in report.confidence})
    thresholds = (report.thresholds["reject"], report.thresholds["auto_apply"])
    data = [b.model_dump() for b in report.confidence]
    data += [{"field": f, "rule": t} for f in fields for t in thresholds]
    base = alt.Chart()
    bars = (
        base.transform_filter("isValid(datum.count)")
        .mark_bar()
        .encode(
            x=alt.X("lower:Q", bin="binned", scale=alt.Scale(domain=[0, 1]), title="confidence"),
            x2="upper:Q",
            y=alt.Y("sum(count):Q", title="changes", axis=alt.Axis(format="d", tickMinStep=1)),
            color=colour,
            tooltip=["field:N", "status:N", "lower:Q", "upper:Q", "count:Q"],
        )
    )
    rules = (
        base.transform_filter("isValid(datum.rule)")
        .mark_rule(strokeDash=[4, 3], color="#4a5568")
        .encode(x="rule:Q")
    )
    columns = min(3, len(fields))
    chart = (
        alt.layer(bars, rules, data=alt.Data(values=data))
        .properties(width=WIDTH // columns - 40, height=110)
        .facet(facet=alt.Facet("field:N", title=None), columns=columns)
        .resolve_scale(y="independent")
    )
    return Chart("confidence", "Confidence per field", render(chart), caption)


def reliability_chart(report: QualityReport) -> Chart:
    caption = (
        "How often a reviewer approved, against the model's confidence (from review decisions); "
        "a calibrated model's points lie on the diagonal. Point size: decisions in the bin."
    )
    if not report.reliability:
        return Chart(
            "reliability",
            "Reliability from review decisions",
            None,
            caption,
            "No review decisions yet.",
        )
    alt = _altair()
    data = [b.model_dump() for b in report.reliability]
    diagonal = (
        alt.Chart(alt.Data(values=[{"x": 0, "y": 0}, {"x": 1, "y": 1}]))
        .mark_line(strokeDash=[4, 3], color="#a0aec0")
        .encode(x="x:Q", y="y:Q")
    )
    points = (
        alt.Chart(alt.Data(values=data))
        .mark_line(point=True)
        .encode(
            x=alt.X("mean_confidence:Q", scale=alt.Scale(domain=[0, 1]), title="confidence"),
            y=alt.Y(
                "approval_rate:Q",
                scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%"),
                title="approved by a reviewer",
            ),
            color=alt.Color("operation:N", legend=alt.Legend(orient="bottom", title=None)),
            tooltip=[
                "operation:N",
                "decided:Q",
                "approved:Q",
                alt.Tooltip("approval_rate:Q", format=".0%"),
            ],
        )
    )
    sized = points.mark_circle().encode(size=alt.Size("decided:Q", legend=None))
    chart = alt.layer(diagonal, points, sized).properties(width=WIDTH, height=260)
    return Chart("reliability", "Reliability from review decisions", render(chart), caption)


def queue_chart(report: QualityReport) -> Chart:
    caption = f"Changes waiting for review at the end of each {report.queue_interval}."
    if not report.queue:
        return Chart(
            "queue", "Review queue over time", None, caption, "Nothing has waited for review yet."
        )
    alt = _altair()
    data = [{"at": p.at.isoformat(), "queued": p.queued} for p in report.queue]
    chart = (
        alt.Chart(alt.Data(values=data))
        .mark_area(line=True, opacity=0.35, interpolate="step-after")
        .encode(
            x=alt.X("at:T", title=None),
            y=alt.Y(
                "queued:Q", title="waiting for review", axis=alt.Axis(format="d", tickMinStep=1)
            ),
            tooltip=[alt.Tooltip("at:T"), "queued:Q"],
        )
        .properties(width=WIDTH, height=200)
    )
    return Chart("queue", "Review queue over time", render(chart), caption)


def validation_chart(report: QualityReport) -> Chart:
    title = "Validation failures per expectation"
    if report.validation is None:
        return Chart("validation", title, None, "", "No validation report yet.")
    v = report.validation
    caption = (
        f"Failing rows per expectation in run {v.run_id}'s validation of {v.records} record(s): "
        f"{'passed' if v.success else 'FAILED (blocking expectations broke)'}."
    )
    failed = [e for e in v.expectations if not e.success]
    if not failed:
        return Chart("validation", title, None, caption, "Every expectation passed.")
    alt = _altair()
    data = [
        {
            "expectation": e.name,
            "rows": e.failing_rows,
            "severity": "blocking" if e.blocking else "warning",
            "rule": e.rule,
        }
        for e in failed
    ]
    chart = (
        alt.Chart(alt.Data(values=data))
        .mark_bar()
        .encode(
            y=alt.Y("expectation:N", sort="-x", title=None),
            x=alt.X("rows:Q", title="failing rows", axis=alt.Axis(format="d", tickMinStep=1)),
            color=alt.Color(
                "severity:N",
                scale=alt.Scale(domain=["blocking", "warning"], range=["#c53030", "#d69e2e"]),
                legend=alt.Legend(orient="bottom", title=None),
            ),
            tooltip=["expectation:N", "rule:N", "rows:Q", "severity:N"],
        )
        .properties(width=WIDTH, height=max(60, 20 * len(data)))
    )
    return Chart("validation", title, render(chart), caption)


def render(chart: Any) -> str:
    """The chart as an SVG document (cached by its spec, so the same data renders once)."""
    spec = chart.to_dict(validate=False)
    spec.setdefault("config", {}).update(
        {"font": "DejaVu Sans, Helvetica, Arial, sans-serif", "view": {"stroke": None}}
    )
    key = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    import vl_convert

    svg = vl_convert.vegalite_to_svg(spec)
    with _lock:
        _cache[key] = svg
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return svg


def _filler(derive: str) -> str:
    kind = derive.partition(".")[0]
    return {"source": "supplier file", "classify": "classifier", "extract": "extractor"}.get(
        kind, kind
    )


def _altair() -> Any:
    import altair

    return altair
