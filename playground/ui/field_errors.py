"""A refused run marks the field to blame, on every tab, and moves the focus to it.

Every refusal reaches the page as one error card, ``<div class="run-error" data-field="…">`` (``render.error_html``
and its kin), in the tab that was refused: the status card, a preflight, the arena's status. This script finds the
field the card names inside that tab and marks it: the block gets ``field-invalid`` (a red outline), its input
``aria-invalid="true"`` and ``aria-describedby`` pointing at the card, so a screen reader reads the message with
the field. The focus moves to the field unless the person is typing somewhere (a preflight refreshed by typing
must not steal the caret). A mark goes when its card goes, or as soon as the field is edited.

Field names are the service's (``width``, ``models``, ``grid-seeds``, ``styles.0.strength`` …); each tab gives its
components ids made from them (``#width`` or ``#param-steps`` on Generate, ``#compare-width``, ``#grid-seeds``),
and :data:`ALIASES` maps the image-input fields onto the reference box that collects them.
"""

from __future__ import annotations

import json

# A field with no component of its own -> the component that collects it (before the tab's prefix).
ALIASES = {
    "references": "reference-pictures", "references.strength": "reference-strength",
    "references.styles": "reference-styles", "references.moodboard": "reference-moodboard",
    "references.moodboard_strength": "moodboard-strength",
    "image_style_references": "reference-pictures", "style_images": "reference-pictures",
    "character_reference_images": "reference-pictures", "image_url": "edit-image", "image_urls": "edit-image",
    "reference_images": "edit-image", "styles": "reference-styles", "moodboards": "reference-moodboard",
    "budget": "budget", "link": "",
}
TAB_PREFIXES = {"tab-generate": "", "tab-compare": "compare-", "tab-arena": "arena-", "tab-grid": "grid-",
                "tab-history": "history-"}

FIELD_ERRORS_JS = """
() => {
  if (window.__fieldErrors) return;
  window.__fieldErrors = true;
  const ALIASES = %(aliases)s;
  const PREFIXES = %(prefixes)s;
  let counter = 0;
  const visible = (el) => !!(el && el.offsetParent !== null);
  const candidates = (field, prefix) => {
    const whole = field in ALIASES ? ALIASES[field] : null;
    const head = field.split('.')[0];
    const base = whole !== null ? whole : (head in ALIASES ? ALIASES[head] : head);
    if (!base) return [];
    const ids = [prefix + base, base, 'param-' + base, prefix + 'param-' + base];
    if (prefix && base.startsWith(prefix)) ids.unshift(base);
    return [...new Set(ids)];
  };
  const target = (card) => {
    const field = card.dataset.field || '';
    if (!field) return null;
    const tab = card.closest('[id^="tab-"]');
    const scope = tab || document;
    const prefix = tab ? (PREFIXES[tab.id] || '') : '';
    for (const id of candidates(field, prefix)) {
      const el = scope.querySelector('#' + CSS.escape(id)) || document.getElementById(id);
      if (el) return el;
    }
    return null;
  };
  const controls = (block) => [...block.querySelectorAll('input:not([type=hidden]), textarea, select')]
    .filter((c) => c.type !== 'file');
  const clear = (block) => {
    block.classList.remove('field-invalid');
    controls(block).forEach((c) => { c.removeAttribute('aria-invalid'); c.removeAttribute('aria-describedby'); });
    delete block.dataset.errorCard;
  };
  const sync = () => {
    const cards = [...document.querySelectorAll('.run-error[data-field]')]
      .filter((card) => visible(card) && !card.dataset.dismissed);
    const wanted = new Map();
    for (const card of cards) {
      const block = target(card);
      if (!block) continue;
      if (!card.id) card.id = 'field-error-' + (++counter);
      wanted.set(block, card);
    }
    document.querySelectorAll('.field-invalid').forEach((block) => { if (!wanted.has(block)) clear(block); });
    for (const [block, card] of wanted) {
      const fresh = block.dataset.errorCard !== card.id;
      block.classList.add('field-invalid');
      block.dataset.errorCard = card.id;
      controls(block).forEach((c) => {
        c.setAttribute('aria-invalid', 'true');
        c.setAttribute('aria-describedby', card.id);
      });
      if (!fresh || card.dataset.focused) continue;
      card.dataset.focused = '1';
      const active = document.activeElement;
      const typing = active && active !== document.body && active.matches('input, textarea, select, [contenteditable]');
      const first = controls(block).find(visible) || block.querySelector('button, [tabindex]');
      if (!typing && first) {
        first.focus({ preventScroll: true });
        block.scrollIntoView({ block: 'center', behavior: 'smooth' });
      }
    }
  };
  document.addEventListener('input', (e) => {
    const block = e.target.closest && e.target.closest('.field-invalid');
    if (!block) return;
    const card = document.getElementById(block.dataset.errorCard || '');
    if (card) card.dataset.dismissed = '1';  // being fixed: the card may stay, the mark goes
    clear(block);
  }, true);
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; sync(); });
  }).observe(document.body, { childList: true, subtree: true });
}
""" % {"aliases": json.dumps(ALIASES), "prefixes": json.dumps(TAB_PREFIXES)}

FIELD_ERRORS_CSS = """
/* A refused run's field (playground/ui/field_errors.py). */
.field-invalid { outline: 2px solid #dc2626 !important; outline-offset: 2px; border-radius: var(--radius-lg); }
.dark .field-invalid { outline-color: #f87171 !important; }
.field-invalid [aria-invalid="true"] { border-color: #dc2626 !important; }
"""
