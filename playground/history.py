"""History as tables and words: stored runs to the History table, a run's details, and the date filters.

Pure functions of stored runs (no Gradio), so the History tab only asks the service and renders these.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from html import escape
from typing import Literal

import pandas as pd

from playground.catalog import Catalog
from playground.runs import Phase, RunRecord
from playground.store import StoredRun

When = Literal["any", "today", "yesterday", "7d", "30d"]
WHEN_CHOICES: list[tuple[str, When]] = [("Any time", "any"), ("Today", "today"), ("Yesterday", "yesterday"),
                                        ("Last 7 days", "7d"), ("Last 30 days", "30d")]
STATUS_CHOICES: list[tuple[str, str]] = [("Any status", ""), ("Completed", "done"), ("Failed", "failed"),
                                         ("Cancelled", "cancelled"), ("Running", "running")]
TABLE_COLUMNS = ["time (UTC)", "model", "prompt", "seed", "size", "queue s", "run s", "total s", "cost $", "status",
                 "comparison"]


class DateError(ValueError):
    """A day the History filter cannot read; the message says what to type."""


def status_word(record: RunRecord) -> str:
    return record.status_word


def date_range(when: str | None, day: str | None, today: date | None = None) -> tuple[str | None, str | None]:
    """(since, until) as ISO strings for the store: a typed day (YYYY-MM-DD) wins over the preset."""
    today = today or datetime.now(timezone.utc).date()
    if day and day.strip():
        try:
            chosen = date.fromisoformat(day.strip())
        except ValueError:
            raise DateError(f"{day.strip()[:20]!r} is not a day: type it as YYYY-MM-DD, e.g. {today}.") from None
        return chosen.isoformat(), chosen.isoformat()
    if when == "today":
        return today.isoformat(), None
    if when == "yesterday":
        yesterday = today - timedelta(days=1)
        return yesterday.isoformat(), yesterday.isoformat()
    if when in ("7d", "30d"):
        return (today - timedelta(days=6 if when == "7d" else 29)).isoformat(), None
    return None, None


def _time(text: str) -> str:
    """'2026-11-25 10:03:12' from an ISO time (the store's are UTC)."""
    return text.replace("T", " ")[:19]


def _cost(record: RunRecord) -> float | str | None:
    if not record.is_terminal:
        return None
    if record.cost_usd is None:
        return "unknown"
    return round(record.cost_usd, 4)


def history_frame(runs: list[StoredRun], catalog: Catalog) -> pd.DataFrame:
    """One row per run, newest first, as the History table shows them."""
    rows = []
    for stored in runs:
        r = stored.record
        model = catalog.find(r.model_id)
        rows.append({
            "time (UTC)": _time(r.started_at), "model": model.name if model else r.model_id,
            "prompt": r.prompt if len(r.prompt) <= 90 else r.prompt[:89] + "…",
            "seed": "" if r.seed is None else str(r.seed), "size": r.size_text,
            "queue s": r.queue_s, "run s": r.run_s, "total s": r.total_s, "cost $": _cost(r),
            "status": status_word(r) if r.is_terminal else (stored.label or "Running"),
            "comparison": "⧉ comparison" if r.group_id else "",
        })
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def history_table_html(runs: list[StoredRun], catalog: Catalog, selected: str | None = None) -> str:
    """The History table: the rows of :func:`history_frame`, each a clickable row carrying its run id (a click
    or Enter selects the run; see the page script)."""
    if not runs:
        return '<div class="history-empty muted">No runs match. Runs you make in Generate and Compare appear here.</div>'
    frame = history_frame(runs, catalog)
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in frame.columns)
    body = []
    for stored, (_, row) in zip(runs, frame.iterrows()):
        cells = "".join(f"<td>{'' if pd.isna(v) else escape(str(v))}</td>" for v in row.tolist())
        mark = ' aria-selected="true" class="selected"' if stored.run_id == selected else ""
        group = f' data-group="{escape(stored.record.group_id)}"' if stored.record.group_id else ""
        body.append(f'<tr data-run-id="{escape(stored.run_id)}" data-phase="{escape(str(stored.record.phase))}"'
                    f'{group} tabindex="0"{mark}>{cells}</tr>')
    return (f'<div class="history-table-wrap"><table class="history-table"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


def gallery_items(runs: list[StoredRun], catalog: Catalog, limit: int = 48) -> list[tuple[str, str]]:
    """(image path, caption) for the newest finished images among `runs`."""
    items = []
    for stored in runs:
        r = stored.record
        if r.image_path and r.phase == Phase.DONE:
            model = catalog.find(r.model_id)
            items.append((r.image_path, f"{model.name if model else r.model_id} · seed {r.seed}"))
            if len(items) >= limit:
                break
    return items


def totals_html(session: tuple[int, float], today: tuple[int, float]) -> str:
    def part(label: str, counts: tuple[int, float]) -> str:
        runs, spent = counts
        return (f'<span class="total"><span class="muted">{label}</span> <b>{runs}</b> run{"s" if runs != 1 else ""}'
                f" · <b>${spent:.2f}</b></span>")

    return f'<div class="history-totals">{part("This session", session)}{part("Today (UTC)", today)}</div>'


def details_html(stored: StoredRun | None, catalog: Catalog) -> str:
    """Everything about one run: status and error, prompt, numbers, job and the exact body sent."""
    if stored is None:
        return '<div class="run-details muted">Select a run in the table or the gallery to see it here.</div>'
    r = stored.record
    model = catalog.find(r.model_id)
    state = status_word(r) if r.is_terminal else (stored.label or "Running")
    error = (f'<div class="run-error" role="alert"><b>{escape(r.error.title)}</b><div>{escape(r.error.message)}'
             "</div></div>") if r.error else ""
    cost = "—" if not r.is_terminal else ("unknown" if r.cost_usd is None else f"${r.cost_usd:.4f}")
    facts = [("Model", model.name if model else r.model_id), ("Status", state), ("Started", _time(r.started_at) + " UTC"),
             ("Seed", "—" if r.seed is None else str(r.seed)), ("Size", r.size_text or "—"),
             ("Queue / run / total", " / ".join("—" if v is None else f"{v:.1f} s" for v in (r.queue_s, r.run_s,
                                                                                           r.total_s))),
             ("Cost", cost), ("Backend", r.backend), ("Job id", r.job_id or "—")]
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    body = escape(json.dumps(r.params, indent=2, ensure_ascii=False))
    notes = "".join(f"<li>{escape(n)}</li>" for n in r.notes)
    return (f'<div class="run-details" data-run-id="{escape(r.run_id)}" data-phase="{escape(str(r.phase))}">'
            f'<div class="details-prompt">{escape(r.prompt)}</div>{error}<dl>{rows}</dl>'
            + (f'<ul class="tile-notes">{notes}</ul>' if notes else "")
            + f"<details><summary>Request body</summary><pre>{body}</pre></details></div>")
