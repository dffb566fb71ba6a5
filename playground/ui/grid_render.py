"""The Grid tab's pieces that are not wiring: its page script and styles, the thumbnail cache, and the HTML of
its progress line, contact sheet, captions and messages (pure functions of a GridSnapshot)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from html import escape

from playground.contact_sheet import contact_sheet_html, thumbnail_data_uri
from playground.grid_runner import GridSnapshot, GridState
from playground.runs import Phase, RunError
from playground.ui.render import seconds

DEFAULT_MODELS = ("bfl/flux-1-dev", "krea/krea-2/medium", "google/imagen-4")
FIELD_LABELS = {"grid-prompts": "Prompts", "grid-prompt-file": "Prompt file", "grid-models": "Models",
                "grid-seeds": "Seeds", "grid-width": "Width", "grid-height": "Height", "grid-steps": "Steps",
                "grid-guidance": "Guidance", "grid-concurrency": "Jobs at once", "grid-budget": "Budget cap",
                "grid": "Grid"}
SETTLE_S = 10.0  # a paused or cancelled grid whose page saw no change for this long is no longer watched
SHEET_EVERY_S = 0.25  # the sheet is re-drawn at most this often per 100 cells (its thumbnails are inlined)
DIFF_HINT = "Tick the boxes of exactly two finished cells in the sheet, then press Diff selected."
SHEET_EMPTY = ('<div class="grid-empty">The contact sheet appears here: prompts down, models across, each seed '
               "stacked in its cell.</div>")

GRID_JS = """
() => {
  const picked = { key: '', grid: '', clicks: 0 };
  let chosen = [];
  const setBox = (id, value) => {
    const box = document.querySelector(`#${id} textarea, #${id} input`);
    if (!box) return;
    box.value = value;
    box.dispatchEvent(new Event('input', { bubbles: true }));
  };
  const gridOf = () => (document.querySelector('#grid-sheet [data-grid-id]') || { dataset: {} }).dataset.gridId || '';
  const pick = (el) => {
    picked.key = el.dataset.cellKey; picked.grid = gridOf();
    sync();
    picked.clicks += 1;  // "grid|key|n": a new value each time, so a second click on a cell shows it again
    setBox('grid-pick', `${picked.grid}|${picked.key}|${picked.clicks}`);
  };
  document.addEventListener('click', (e) => {
    const el = e.target.closest && e.target.closest('#grid-sheet [data-cell-key]');
    if (el) pick(el);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      const run = document.querySelector('#grid-run');
      if (run && run.offsetParent !== null) { e.preventDefault(); run.click(); }
      return;
    }
    if (e.key !== 'Enter' && e.key !== ' ') return;
    const el = e.target.closest && e.target.closest('#grid-sheet [data-cell-key]');
    if (el && el.tagName !== 'BUTTON') { e.preventDefault(); pick(el); }  // a <button> clicks by itself
  });
  document.addEventListener('change', (e) => {
    const box = e.target.closest && e.target.closest('#grid-sheet input[data-select-key]');
    if (!box) return;
    const key = box.dataset.selectKey;
    chosen = chosen.filter((k) => k !== key);
    if (box.checked) chosen.push(key);
    setBox('grid-selected', chosen.join(','));
  });
  // The sheet is re-drawn as cells finish: keep the ticks and the picked cell; forget them for another grid.
  // The preflight names a field: mark that field invalid for assistive tech (the CSS outlines it).
  let grid = '';
  const sync = () => {
    const sheet = document.querySelector('#grid-sheet');
    if (sheet) {
      const now = gridOf();
      if (now !== grid) {
        grid = now;
        if (chosen.length) { chosen = []; setBox('grid-selected', ''); }
      }
      sheet.querySelectorAll('input[data-select-key]').forEach((b) => {
        const on = chosen.includes(b.dataset.selectKey);
        if (b.checked !== on) b.checked = on;
      });
      sheet.querySelectorAll('[data-cell-key]').forEach((b) => {
        const on = picked.grid === now && b.dataset.cellKey === picked.key;
        if (on !== b.hasAttribute('aria-current')) on ? b.setAttribute('aria-current', 'true')
          : b.removeAttribute('aria-current');
      });
    }
  };
  let queued = false;
  new MutationObserver((records) => {
    if (queued) return;
    if (!records.some((r) => r.target.closest && r.target.closest('#grid-sheet, #grid-preflight'))) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; sync(); });
  }).observe(document.body, { childList: true, subtree: true });
}
"""

GRID_CSS = """
/* ---- Grid tab (playground/ui/grid_tab.py) ------------------------------------------------------------- */
/* No empty picture box before a cell is picked: its caption says to pick one. */
#grid-cell-image:has(.empty) { display: none !important; }
#grid-actions { flex-wrap: wrap; gap: 8px; }
#grid-actions > button { flex: 0 1 auto; min-width: 130px; }
#grid-past input { text-overflow: ellipsis; min-width: 0; padding-right: 1.75rem; }
#grid-settings { flex-wrap: wrap; }
#grid-settings > * { flex: 1 1 120px; }
#grid-sheet-actions { flex-wrap: wrap; gap: 8px; align-items: center; }
#grid-sheet-actions > * { flex: 0 1 auto; min-width: 140px; }
.grid-progress { display: flex; flex-direction: column; gap: .4rem; }
.grid-bar { display: flex; height: 10px; border-radius: 999px; overflow: hidden;
  background: var(--background-fill-secondary); border: 1px solid var(--border-color-primary); }
.grid-bar > span { display: block; height: 100%; transition: width .3s ease; }
.grid-bar .grid-bar-done { background: var(--color-accent); }
.grid-bar .grid-bar-failed { background: #ef4444; }
.grid-bar .grid-bar-running { background: color-mix(in srgb, var(--color-accent) 35%, transparent); }
.grid-counts { font-size: .92rem; font-variant-numeric: tabular-nums; color: var(--body-text-color); }
.grid-state { display: inline-block; font-size: .76rem; font-weight: 600; padding: .05rem .55rem; margin-right: .4rem;
  border-radius: 999px; border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary); }
.grid-progress[data-state="running"] .grid-state { border-color: var(--color-accent); }
.grid-progress[data-state="paused"] .grid-state, .grid-progress[data-state="cancelled"] .grid-state {
  border-color: #f59e0b; background: color-mix(in srgb, #f59e0b 14%, transparent); }
.grid-progress[data-state="done"] .grid-state { border-color: #22c55e;
  background: color-mix(in srgb, #22c55e 14%, transparent); }
.grid-empty { padding: 1.2rem 1rem; border: 1px dashed var(--border-color-primary); border-radius: var(--radius-lg);
  color: var(--body-text-color-subdued); text-align: center; }
#grid-sheet { min-width: 0; max-width: 100%; }
#grid-sheet .grid-open[aria-current="true"] { outline: 2px solid var(--color-accent); outline-offset: 1px; }
.grid-notes { margin-top: .3rem; font-size: .85rem; color: var(--body-text-color-subdued); }
.grid-cell-caption { font-size: .9rem; display: flex; flex-direction: column; gap: .3rem; }
.grid-cell-caption .grid-cell-prompt { overflow-wrap: anywhere; }
.grid-cell-caption .grid-cell-facts { color: var(--body-text-color-subdued); font-variant-numeric: tabular-nums; }
@media (max-width: 640px) {
  #grid-actions > button { flex: 1 1 40%; min-width: 0; }
  #grid-sheet-actions > * { flex: 1 1 100%; min-width: 0; }
  #grid-sheet .grid-sheet th.grid-prompt { min-width: 84px; max-width: 110px; font-size: .76rem; }
}
"""


# --- thumbnails ----------------------------------------------------------------------------------------------

class ThumbCache:
    """Data-URI thumbnails by image path (a finished image never changes), the most recent few hundred."""

    def __init__(self, size: int = 800) -> None:
        self.size = size
        self._items: OrderedDict[str, str | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str) -> str | None:
        with self._lock:
            if path in self._items:
                self._items.move_to_end(path)
                return self._items[path]
        try:
            uri = thumbnail_data_uri(path)
        except Exception:  # a deleted or unreadable file: the cell shows its status chip instead
            uri = None
        with self._lock:
            self._items[path] = uri
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return uri


THUMBS = ThumbCache()


# --- HTML fragments --------------------------------------------------------------------------------------------

def refusal_html(error: RunError) -> str:
    """Like render.error_html, with the field to fix named in the title."""
    label = FIELD_LABELS.get(error.field or "")
    title = f"{error.title} · {label}" if label else error.title
    field = f' data-field="{escape(error.field)}"' if error.field else ""
    return (f'<div class="run-error" role="alert" data-kind="{escape(error.kind)}"{field}>'
            f"<b>{escape(title)}</b><div>{escape(error.message)}</div></div>")


def note_html(text: str, notes=(), warn: bool = False) -> str:
    extra = "".join(f"<div>{escape(n)}</div>" for n in notes)
    return (f'<div class="preflight{" warn" if warn else ""}">{escape(text)}'
            + (f'<div class="grid-notes">{extra}</div>' if extra else "") + "</div>")


def progress_html(snap: GridSnapshot | None) -> str:
    if snap is None:
        return ""
    total = max(1, snap.plan.jobs)
    done, failed, running = snap.done, snap.failed, snap.running
    state = str(snap.state)
    word = "Stopping" if state == GridState.CANCELLED and running else state.capitalize()
    if state == GridState.PAUSED and running:
        word = "Pausing"
    bar = "".join(f'<span class="grid-bar-{name}" style="width: {100 * n / total:.2f}%"></span>'
                  for name, n in (("done", done), ("failed", failed), ("running", running)) if n)
    counts = (f"{done} of {snap.plan.jobs} done · {running} running · {failed} failed · "
              f"${snap.spent_usd:.2f} spent")
    return (f'<div class="grid-progress" data-state="{escape(state)}" data-grid-id="{escape(snap.grid_id)}">'
            f'<div class="grid-bar" role="progressbar" aria-label="Grid progress" aria-valuemin="0" '
            f'aria-valuemax="{snap.plan.jobs}" aria-valuenow="{done}" aria-valuetext="{escape(counts)}">{bar}</div>'
            f'<div class="grid-counts" aria-live="polite"><span class="grid-state">{escape(word)}</span>'
            f"{escape(counts)}</div></div>")


def sheet_html(snap: GridSnapshot | None) -> str:
    if snap is None:
        return SHEET_EMPTY
    thumbs = {}
    for key, record in snap.records.items():
        if record is not None and record.phase == Phase.DONE and record.image_path:
            uri = THUMBS.get(record.image_path)
            if uri:
                thumbs[key] = uri
    return (f'<div class="grid-sheet-host" data-grid-id="{escape(snap.grid_id)}">'
            f"{contact_sheet_html(snap.plan, snap.records, thumbs)}</div>")


def cell_label(snap: GridSnapshot, key: str) -> str:
    cell = snap.plan.cell(key)
    return f"Prompt {cell.prompt_index + 1} · {snap.plan.model(cell.model_id).name} · seed {cell.seed}"


def caption_html(snap: GridSnapshot, key: str) -> str:
    cell = snap.plan.cell(key)
    record = snap.records.get(key)
    facts = [snap.plan.model(cell.model_id).name,
             f"seed {record.seed if record is not None and record.seed is not None else cell.seed}"]
    if record is None:
        facts.append("queued")
    else:
        facts.append(record.status_word)
        if record.total_s is not None:
            facts.append(seconds(record.total_s))
        if record.cost_usd is not None:
            facts.append(f"${record.cost_usd:.3f}")
        elif record.is_terminal and not record.priced:
            facts.append("price unknown")
    error = refusal_html(record.error) if record is not None and record.error is not None else ""
    return (f'<div class="grid-cell-caption" data-cell-key="{escape(key)}">'
            f'<div class="grid-cell-prompt"><b>Prompt {cell.prompt_index + 1}.</b> '
            f"{escape(snap.plan.prompts[cell.prompt_index])}</div>"
            f'<div class="grid-cell-facts">{escape(" · ".join(facts))}</div>{error}</div>')


def past_label(grid_id: str, created_at: str, state, settings) -> str:
    jobs = len(settings.prompts) * len(settings.model_ids) * len(settings.seeds)
    first = settings.prompts[0] if settings.prompts else ""
    first = first if len(first) <= 28 else first[:27] + "…"
    return f"{created_at[:16].replace('T', ' ')} · {jobs} jobs · {state} · “{first}”"


# --- the tab -----------------------------------------------------------------------------------------------------
