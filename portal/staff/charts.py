"""Chart data from the database (staff_chart_series, staff_directory_success) and the charts
page's small server-rendered SVG bar charts of it: no JavaScript library, no CDN.

Windows (?window=, `ChartWindow`) map to bucket sizes so a chart keeps a readable number of
bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from html import escape
from typing import Annotated, Any

from fastapi import Depends, HTTPException
from markupsafe import Markup

from portal.database import QuerySession

HOUR = 3600
DAY = 24 * HOUR


@dataclass(frozen=True)
class Window:
    key: str
    label: str
    seconds: int
    bucket_seconds: int
    bucket_label: str


WINDOWS = {
    w.key: w
    for w in (
        Window("6h", "Last 6 hours", 6 * HOUR, HOUR, "hour"),
        Window("24h", "Last 24 hours", DAY, HOUR, "hour"),
        Window("7d", "Last 7 days", 7 * DAY, 6 * HOUR, "6 hours"),
        Window("30d", "Last 30 days", 30 * DAY, DAY, "day"),
    )
}
DEFAULT_WINDOW = "24h"
OUTCOMES = ("success", "needs_action", "transient_error", "permanent_error", "skipped")


async def chart_window(window: str = "") -> Window:
    """The ?window= query parameter: a 422 naming the offered windows if it is not one."""
    if window == "":
        return WINDOWS[DEFAULT_WINDOW]
    if window not in WINDOWS:
        raise HTTPException(422, f"window must be one of: {', '.join(WINDOWS)}")
    return WINDOWS[window]


ChartWindow = Annotated[Window, Depends(chart_window)]


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _number(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


async def chart_data(q: QuerySession, window: Window) -> dict[str, Any]:
    """Everything the charts page draws, as JSON-ready data."""
    rows = await q.fetch_all(
        "metrics_chart_series",
        window_seconds=window.seconds,
        bucket_seconds=window.bucket_seconds,
    )
    buckets = []
    for row in rows:
        attempts = int(row["attempts"])
        retries = int(row["retries"])
        buckets.append(
            {
                "start": row["bucket_start"].isoformat(),
                "jobs_completed": int(row["jobs_completed"]),
                "attempts": attempts,
                "attempts_by_outcome": {o: int(row[f"attempts_{o}"]) for o in OUTCOMES},
                "retries": retries,
                "retry_rate": _rate(retries, attempts),
                "captchas_solved": int(row["captchas_solved"]),
                "captchas_failed": int(row["captchas_failed"]),
                "proxy_failures": int(row["proxy_failures"]),
            }
        )
    totals: dict[str, Any] = {
        key: sum(int(b[key]) for b in buckets)
        for key in (
            "jobs_completed",
            "attempts",
            "retries",
            "captchas_solved",
            "captchas_failed",
            "proxy_failures",
        )
    }
    totals["attempts_by_outcome"] = {
        o: sum(b["attempts_by_outcome"][o] for b in buckets) for o in OUTCOMES
    }
    totals["retry_rate"] = _rate(totals["retries"], totals["attempts"])
    directories = []
    for row in await q.fetch_all("directories_list_success_rates", window_seconds=window.seconds):
        rate, baseline = _number(row["success_rate"]), _number(row["baseline_success_rate"])
        directories.append(
            {
                "directory_id": row["directory_id"],
                "name": row["name"],
                "attempts": int(row["attempts"]),
                # Only finished attempts (succeeded or failed) make the rate; the ones waiting
                # on the customer or on a review are shown beside it (see the migration
                # 20261207000100_success_rates_count_finished_attempts.sql for why).
                "finished": int(row["finished"]),
                "successes": int(row["successes"]),
                "failures": int(row["failures"]),
                "waiting": int(row["waiting"]),
                "success_rate": rate,
                "baseline_attempts": int(row["baseline_attempts"]),
                "baseline_finished": int(row["baseline_finished"]),
                "baseline_success_rate": baseline,
                "drift": None if rate is None or baseline is None else round(rate - baseline, 4),
            }
        )
    return {
        "window": window.key,
        "window_seconds": window.seconds,
        "bucket_seconds": window.bucket_seconds,
        "buckets": buckets,
        "totals": totals,
        "directories": directories,
    }


# -- SVG --------------------------------------------------------------------------------------
def page_charts(window: Window, data: dict[str, Any]) -> dict[str, Markup]:
    """The charts page's five charts of `data` (chart_data's), by name."""
    starts = [b["start"] for b in data["buckets"]]
    b = data["buckets"]
    return {
        "completed": bar_chart(
            "chart-completed",
            f"Jobs completed per {window.bucket_label}",
            starts,
            [("completed", "s-ok", [x["jobs_completed"] for x in b])],
        ),
        "outcomes": bar_chart(
            "chart-outcomes",
            f"Directory attempts by outcome per {window.bucket_label}",
            starts,
            [
                (o.replace("_", " "), f"s-{o}", [x["attempts_by_outcome"][o] for x in b])
                for o in OUTCOMES
            ],
        ),
        "retry_rate": bar_chart(
            "chart-retry-rate",
            f"Retry rate per {window.bucket_label}",
            starts,
            [("retry rate", "s-warn", [x["retry_rate"] or 0 for x in b])],
            percent=True,
        ),
        "captchas": bar_chart(
            "chart-captchas",
            f"Captchas solved and failed per {window.bucket_label}",
            starts,
            [
                ("solved", "s-ok", [x["captchas_solved"] for x in b]),
                ("failed", "s-bad", [x["captchas_failed"] for x in b]),
            ],
        ),
        "proxy": bar_chart(
            "chart-proxy",
            f"Proxy rotation failures per {window.bucket_label}",
            starts,
            [("proxy failures", "s-bad", [x["proxy_failures"] for x in b])],
        ),
    }


# The charts are drawn in CSS pixels vertically and in percent of their width horizontally
# (no viewBox): text keeps its size and shape at any width instead of being squeezed, and
# the x-axis labels are placed so the first starts at the left edge and the last ends at the
# right edge, never past it (a label centred on the last bar was cut off).
HEIGHT = 220
TOP, BOTTOM = 16, 36
# At most this many x-axis labels: two lines of at most "03 Dec" / "17:00" each, so six
# fit side by side on a 360 px phone.
X_LABELS = 6


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return float(step)
    return float(value)


def _tick(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    return f"{value:g}"


def label_indexes(count: int, most: int = X_LABELS) -> list[int]:
    """Which buckets get an x-axis label: evenly spread, always the first and the last."""
    if count <= most:
        return list(range(count))
    return sorted({round(k * (count - 1) / (most - 1)) for k in range(most)})


def bar_chart(
    chart_id: str,
    title: str,
    starts: list[str],
    series: list[tuple[str, str, list[float]]],
    *,
    percent: bool = False,
) -> Markup:
    """Stacked bars, one per bucket. `series` is (legend, css class, values)."""
    count = max(1, len(starts))
    totals = [sum(values[i] for _, _, values in series) for i in range(len(starts))]
    top = 1.0 if percent else _nice_max(max(totals, default=0))
    plot_h = HEIGHT - TOP - BOTTOM
    slot = 100 / count
    bar_w = slot * 0.8
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" width="100%" height="{HEIGHT}" '
        f'role="img" aria-labelledby="{escape(chart_id)}-title">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
    ]
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="grid" x1="0" x2="100%" y1="{y:.1f}" y2="{y:.1f}"/>')
    for index, start in enumerate(starts):
        x = index * slot + (slot - bar_w) / 2
        base = 0.0
        for legend, css, values in series:
            value = values[index]
            if value <= 0:
                continue
            height = plot_h * min(value, top) / top
            y = TOP + plot_h - base - height
            shown = _tick(value, True) if percent else f"{value:g}"
            parts.append(
                f'<rect class="{escape(css)}" x="{x:.3f}%" y="{y:.1f}" width="{bar_w:.3f}%" '
                f'height="{height:.1f}"><title>{escape(_label(start))} {escape(legend)}: '
                f"{escape(shown)}</title></rect>"
            )
            base += height
    # The y ticks sit just above their grid lines at the left edge, drawn after the bars
    # with a halo (staff.css) so a bar never hides them.
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        parts.append(
            f'<text class="axis tick" x="2" y="{y - 3:.1f}">'
            f"{escape(_tick(top * fraction, percent))}</text>"
        )
    shown_labels = label_indexes(len(starts))
    for index in shown_labels:
        if index == 0:
            at, anchor = "0%", "start"
        elif index == len(starts) - 1:
            at, anchor = "100%", "end"
        else:
            at, anchor = f"{index * slot + slot / 2:.3f}%", "middle"
        lines = _label_lines(starts[index])
        tspans = "".join(
            f'<tspan x="{at}" dy="{0 if n == 0 else 13}">{escape(line)}</tspan>'
            for n, line in enumerate(lines)
        )
        parts.append(
            f'<text class="axis x-label" y="{HEIGHT - BOTTOM + 14}" '
            f'text-anchor="{anchor}">{tspans}</text>'
        )
    parts.append("</svg>")
    # Every piece of text in it went through html.escape above.
    return Markup("".join(parts))  # noqa: S704


def _label(iso: str) -> str:
    return " ".join(_label_lines(iso))


def _label_lines(iso: str) -> list[str]:
    """A bucket's label as its day and, unless it starts at midnight, its time."""
    moment = datetime.fromisoformat(iso)
    day = moment.strftime("%d %b")
    return [day, moment.strftime("%H:%M")] if moment.hour or moment.minute else [day]
