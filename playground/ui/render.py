"""Formatting run updates, models and the backend banner as small HTML fragments.

Pure functions of their inputs (no Gradio objects), so they are cheap to test and reuse across tabs.
"""

from __future__ import annotations

from html import escape

from playground.catalog import Model
from playground.runs import RunError, RunUpdate


def seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f} s" if value < 100 else f"{value / 60:.1f} min"


def price_text(model: Model) -> str:
    """"$0.03 per image at 1K", "~$0.0368 per image" (reported, not confirmed), "~22.9 compute units"."""
    return model.price.label()


def model_summary(model: Model) -> str:
    """One line for the model picker's info: who makes it, how fast, how much."""
    return f"{model.provider} · ~{model.expected_seconds:.0f} s · {price_text(model)}"


def model_card(model: Model) -> str:
    chips = [f"~{model.expected_seconds:.0f} s typical", price_text(model)]
    if model.previews:
        chips.append("live previews")
    notes = "".join(f"<li>{escape(n)}</li>" for n in model.notes)
    return (
        f'<div class="model-card"><div class="model-card-head"><b>{escape(model.name)}</b>'
        f'<span class="muted"> by {escape(model.provider)}</span></div>'
        f'<div class="model-card-desc">{escape(model.description)}</div>'
        f'<div class="chips">{"".join(f"<span class=chip>{escape(c)}</span>" for c in chips)}</div>'
        + (f'<ul class="model-notes">{notes}</ul>' if notes else "")
        + "</div>"
    )


def error_html(error: RunError) -> str:
    title = error.title
    field = f' data-field="{escape(error.field)}"' if error.field else ""
    return (f'<div class="run-error" role="alert" data-kind="{escape(error.kind)}"{field}>'
            f"<b>{escape(title)}</b><div>{escape(error.message)}</div></div>")


def status_html(update: RunUpdate | None, expected_seconds: float | None = None, error: RunError | None = None) -> str:
    """The status card: phase, Krea's status in plain words, elapsed/queue/run time, job id and seed."""
    if update is None:
        phase = "failed" if error else "idle"
        label = "Not started" if error else "Ready"
        hint = "" if error else '<span class="muted"> · type a prompt and press Generate (or Enter)</span>'
        return (f'<div class="run-status" data-phase="{phase}" aria-live="polite">'
                f'<span class="status-label">{label}</span>{hint}</div>' + (error_html(error) if error else ""))
    t = update.timings
    live = not update.is_terminal
    waiting = live and t.run is None and t.queue is not None

    def counter(value: float | None, ticking: bool) -> str:
        # data-tick: the page script (ui/app.py) keeps a live counter moving between server updates.
        tick = f' data-tick="{value:.2f}"' if ticking and value is not None else ""
        return f"<b{tick}>{seconds(value)}</b>"

    facts = [f"<span>elapsed {counter(t.elapsed, live)}</span>",
             f"<span>queue {counter(t.queue, waiting)}</span>",
             f"<span>run {counter(t.run, live and t.run is not None)}</span>"]
    if expected_seconds and not update.is_terminal:
        facts.append(f'<span class="muted">usually ~{expected_seconds:.0f} s</span>')
    meta = []
    if update.job_id:
        meta.append(f'job <code title="{escape(update.job_id)}">{escape(update.job_id)}</code>')
    if update.seed is not None:
        meta.append(f"seed <code>{update.seed}</code>")
    if update.image_size:
        meta.append(f"{update.image_size[0]}×{update.image_size[1]}")
    status = f' <span class="muted">({escape(update.status)})</span>' if update.status else ""
    body = (
        f'<div class="run-status" data-phase="{escape(update.phase)}" data-status="{escape(update.status or "")}"'
        f' aria-live="polite"><div><span class="status-dot"></span>'
        f'<span class="status-label">{escape(update.label)}</span>{status}</div>'
        f'<div class="status-times">{"".join(facts)}</div>'
        + (f'<div class="status-meta">{" · ".join(meta)}</div>' if meta else "")
        + "</div>"
    )
    if update.error is not None:
        body += error_html(update.error)
    return body


def backend_banner(name: str, base_url: str, note: str = "") -> str:
    if name == "sandbox":
        return ('<div class="backend-banner sandbox" id="backend-banner"><b>Sandbox mode</b> · no API token set, '
                "so jobs run on the local Krea-compatible sandbox. Images are rendered locally by a procedural "
                "renderer, <b>not by the real models</b>; timings are scaled down. Set <code>KREA_API_TOKEN</code> "
                "to use Krea's API.</div>")
    if note:
        return (f'<div class="backend-banner live" id="backend-banner"><b>Live: Krea API</b> · jobs go to '
                f"<code>{escape(base_url)}</code>. {escape(note)}</div>")
    return (f'<div class="backend-banner live" id="backend-banner"><b>Live: Krea API</b> · jobs go to '
            f"<code>{escape(base_url)}</code> and are billed to your Krea account.</div>")
