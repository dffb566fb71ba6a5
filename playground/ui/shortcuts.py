"""The keyboard shortcuts, listed once: in the help popover in the page header (a <details> disclosure, so it
works without script), and opened with "?" from anywhere but a text field."""

from __future__ import annotations

from html import escape

SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Enter", "in a prompt box: Generate, Compare, or start an Arena round"),
    ("Ctrl/⌘ + Enter", "from any field: run the tab on screen"),
    ("1 · 2 · 0 · X", "Arena: A is better · B is better · tie · both bad"),
    ("Enter", "Arena, after a vote: next round"),
    ("Enter / Space", "Grid and History: open the focused cell or row"),
    ("Esc", "close a full-screen image or this help"),
    ("?", "open or close this help"),
)


def shortcuts_html() -> str:
    rows = "".join(f"<dt><kbd>{escape(keys)}</kbd></dt><dd>{escape(what)}</dd>" for keys, what in SHORTCUTS)
    return (f'<details class="shortcuts" id="shortcuts"><summary aria-label="Keyboard shortcuts">⌨ Shortcuts'
            f'</summary><div class="shortcuts-panel" role="group" aria-label="Keyboard shortcuts">'
            f"<dl>{rows}</dl></div></details>")


SHORTCUTS_JS = """
() => {
  if (window.__shortcutsHelp) return;
  window.__shortcutsHelp = true;
  document.addEventListener('keydown', (e) => {
    const box = document.getElementById('shortcuts');
    if (!box) return;
    const t = e.target;
    const typing = t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if (e.key === 'Escape' && box.open) { box.open = false; box.querySelector('summary').focus(); return; }
    if (e.key === '?' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
      e.preventDefault();
      box.open = !box.open;
      if (box.open) box.querySelector('summary').focus();
    }
  });
}
"""

# Gradio 6.31's dropdowns lose the focus on Tab: the option list closes as the focus leaves, and the browser's
# next element is gone, so the focus falls to the page body. Tab and Shift+Tab from a dropdown's text box move
# to the next (or previous) focusable control in page order instead.
FOCUS_JS = """
() => {
  if (window.__dropdownTab) return;
  window.__dropdownTab = true;
  const focusable = () => [...document.querySelectorAll(
      'a[href], button, input, textarea, select, summary, [tabindex]')]
    .filter((el) => !el.disabled && el.tabIndex >= 0 && el.offsetParent !== null
      && !el.closest('[aria-hidden="true"], .visually-hidden'));
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Tab' || e.ctrlKey || e.metaKey || e.altKey) return;
    const box = e.target && e.target.closest && e.target.closest('.secondary-wrap');
    if (!box || e.target.tagName !== 'INPUT') return;
    const block = box.closest('.block') || box;
    const all = focusable();
    const inside = (el) => block.contains(el);
    const here = all.indexOf(e.target);
    if (here < 0) return;
    let i = here;
    do { i += e.shiftKey ? -1 : 1; } while (i >= 0 && i < all.length && inside(all[i]));
    const next = all[i];
    if (!next) return;
    e.preventDefault();
    e.target.blur();
    next.focus();
  }, true);
}
"""

SHORTCUTS_CSS = """
.shortcuts { position: relative; margin-left: auto; font-size: .85rem; font-weight: 400; }
.shortcuts summary { cursor: pointer; list-style: none; padding: .2rem .6rem; border-radius: 999px;
  border: 1px solid var(--border-color-primary); color: var(--body-text-color); }
.shortcuts summary::-webkit-details-marker { display: none; }
.shortcuts summary:focus-visible { outline: 2px solid var(--color-accent); outline-offset: 2px; }
.shortcuts-panel { position: absolute; right: 0; top: calc(100% + 6px); z-index: 50; width: min(420px, 90vw);
  padding: .6rem .8rem; border-radius: var(--radius-lg); border: 1px solid var(--border-color-primary);
  background: var(--background-fill-primary); box-shadow: 0 8px 24px rgb(0 0 0 / .18); }
.shortcuts-panel dl { display: grid; grid-template-columns: max-content 1fr; gap: .35rem .8rem; margin: 0; }
.shortcuts-panel dt { white-space: nowrap; }
.shortcuts-panel dd { margin: 0; }
/* A phone fits all five tabs (Gradio folds the ones that do not fit into a "…" menu). */
@media (max-width: 640px) { #tabs .tab-container button { padding: 0 .4rem !important; font-size: .85rem; } }
.shortcuts kbd { font-family: var(--font-mono); font-size: .8rem; padding: .05rem .35rem; border-radius: 4px;
  border: 1px solid var(--border-color-primary); background: var(--background-fill-secondary); }
"""
