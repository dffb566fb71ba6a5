"""A diff view of two result images: wipe slider, side by side with linked zoom and pan, difference heatmap.

The block is self-contained HTML: result files sit in a folder the server will not hand out by URL, so the pictures
are inlined as ``data:`` URIs. Gradio does not run ``<script>`` inside gr.HTML and re-renders it freely, so the
behaviour lives in :data:`DIFF_JS` (run once on page load), which listens on ``document`` and keeps each view's
state in data- attributes of its ``.diff-view`` element. :data:`DIFF_CSS` goes into the app's stylesheet.
"""

from __future__ import annotations

import math
from html import escape
from pathlib import Path

from playground.image_diff import HEATMAP_ANCHORS, DiffResult, difference, to_data_uri

MAX_SIDE = 1024  # px on the long side of each inlined picture
PICTURE_BUDGET = 280_000  # bytes per JPEG picture; three of them keep a view under ~1 MB of HTML
HEATMAP_BUDGET = 120_000
PLACEHOLDER = "Pick two results to compare them here."
MODES = (("wipe", "Wipe"), ("side", "Side by side"), ("heatmap", "Heatmap"))


def stats_line(result: DiffResult) -> str:
    """'mean difference 12.3 / 255 · 18.4% of pixels differ · PSNR 27.1 dB' (plain text)."""
    pct = result.changed_pct
    pct_text = f"{pct:.1f}" if pct == 0 or pct >= 0.1 else f"{pct:.2g}"  # one pixel in a million is not "0.0%"
    psnr = "PSNR ∞ (identical)" if math.isinf(result.psnr_db) else f"PSNR {result.psnr_db:.1f} dB"
    return f"mean difference {result.mean_abs:.1f} / 255 · {pct_text}% of pixels differ · {psnr}"


def diff_placeholder_html(message: str = PLACEHOLDER, error: bool = False) -> str:
    """The empty (or failed) state of the block."""
    kind = " diff-error" if error else ""
    return f'<div class="diff-view diff-empty{kind}" role="status">{escape(message)}</div>'


def diff_view_html(path_a: str | Path, path_b: str | Path, label_a: str, label_b: str) -> str:
    """The whole block for two image files. An unusable file gives the placeholder with the reason instead."""
    try:
        result = difference(path_a, path_b)
    except ValueError as exc:
        return diff_placeholder_html(str(exc), error=True)
    uri_a = to_data_uri(result.image_a, quality=90, max_side=MAX_SIDE, max_bytes=PICTURE_BUDGET)
    uri_b = to_data_uri(result.image_b, quality=90, max_side=MAX_SIDE, max_bytes=PICTURE_BUDGET)
    uri_heat = to_data_uri(result.heatmap, quality=85, max_side=MAX_SIDE, max_bytes=HEATMAP_BUDGET)
    width, height = result.size
    a, b = escape(label_a), escape(label_b)
    modes = "".join(
        f'<button type="button" class="diff-mode" data-mode="{key}" aria-pressed="{str(key == "wipe").lower()}">'
        f"{text}</button>" for key, text in MODES)
    note = f'<p class="diff-note">{escape(result.note)}</p>' if result.note else ""
    verdict = '<p class="diff-verdict">The two images are identical.</p>' if result.identical else ""
    corners = (f'<span class="diff-corner diff-corner-a"><b>A</b> {a}</span>'
               f'<span class="diff-corner diff-corner-b"><b>B</b> {b}</span>')
    pane = ('<figure class="diff-pane" tabindex="0" aria-label="{who}: wheel or +/- to zoom, drag or arrows to pan">'
            '<div class="diff-pane-view"><div class="diff-zoomable diff-pic-{side}" role="img" aria-label="{who}">'
            '</div></div><figcaption>{tag}</figcaption></figure>')
    # Each picture is inlined once, as a CSS variable that the wipe layers and the panes all paint from:
    # two <img> copies would double the page.
    return (
        f'<div class="diff-view" data-mode="wipe" data-scale="1" data-x="0" data-y="0" data-wipe="50" '
        f'style="--diff-ratio: {width / height:.5f}; --diff-a: url({uri_a}); --diff-b: url({uri_b})">'
        f'<div class="diff-modes" role="group" aria-label="How to compare">{modes}</div>'
        # Wipe: A underneath, B on top clipped to the right of the slider.
        f'<div class="diff-panel diff-panel-wipe">'
        f'<div class="diff-stage diff-wipe-stage">'
        f'<div class="diff-layer diff-pic-a" role="img" aria-label="A: {a}"></div>'
        f'<div class="diff-layer diff-pic-b diff-wipe-b" role="img" aria-label="B: {b}" '
        f'style="clip-path: inset(0 0 0 50%)"></div>'
        f'<div class="diff-wipe-line" style="left: 50%" aria-hidden="true"></div>{corners}</div>'
        f'<input type="range" class="diff-wipe" min="0" max="100" step="0.5" value="50" aria-label="Wipe position" '
        f'aria-valuetext="A left of 50%, B right">'
        f"</div>"
        # Side by side: both pictures get the same transform, so zoom and pan stay linked.
        f'<div class="diff-panel diff-panel-side">'
        f'<div class="diff-zoom-bar">'
        f'<button type="button" class="diff-zoom" data-zoom="out" aria-label="Zoom out">−</button>'
        f'<span class="diff-zoom-level" aria-live="polite">100%</span>'
        f'<button type="button" class="diff-zoom" data-zoom="in" aria-label="Zoom in">+</button>'
        f'<button type="button" class="diff-reset">Reset</button>'
        f'<span class="diff-hint">wheel to zoom · drag to pan</span></div>'
        f'<div class="diff-panes">'
        + pane.format(who=f"A: {a}", side="a", tag=f"<b>A</b> {a}")
        + pane.format(who=f"B: {b}", side="b", tag=f"<b>B</b> {b}")
        + "</div></div>"
        f'<div class="diff-panel diff-panel-heatmap">'
        f'<div class="diff-stage"><img class="diff-heatmap" src="{uri_heat}" '
        f'alt="Difference heatmap: black where identical, bright where A and B differ" draggable="false"></div>'
        f'<div class="diff-legend" aria-hidden="true"><span>identical</span><span class="diff-ramp"></span>'
        f"<span>most different</span></div>"
        f'<p class="diff-stats">{escape(stats_line(result))}</p>{verdict}'
        f"</div>{note}</div>"
    )


def _ramp_css() -> str:
    stops = ", ".join(f"rgb{colour} {pos * 100:.0f}%" for pos, colour in HEATMAP_ANCHORS)
    return f"linear-gradient(to right, {stops})"


DIFF_CSS = """
/* ---- Diff view (playground/ui/diff_view.py) ------------------------------------------------------------- */
.diff-view { display: flex; flex-direction: column; gap: .6rem; min-width: 0;
  color: var(--body-text-color); }
.diff-empty { padding: 1.2rem 1rem; border: 1px dashed var(--border-color-primary); border-radius: var(--radius-lg);
  color: var(--body-text-color-subdued); text-align: center; background: var(--block-background-fill); }
.diff-empty.diff-error { border-style: solid; color: var(--body-text-color);
  background: color-mix(in srgb, #ef4444 10%, transparent);
  border-color: color-mix(in srgb, #ef4444 45%, transparent); }
.diff-modes { display: inline-flex; align-self: flex-start; flex-wrap: wrap;
  border: 1px solid var(--border-color-primary); border-radius: var(--radius-lg); overflow: hidden;
  background: var(--block-background-fill); }
.diff-modes button, .diff-zoom-bar button { font: inherit; font-size: .88rem; color: var(--body-text-color);
  background: transparent; border: 0; padding: .35rem .8rem; cursor: pointer; }
.diff-modes button { margin: 0; border-radius: 0; line-height: 1.4; box-shadow: none; }  /* over Gradio's own */
.diff-modes button + button { border-left: 1px solid var(--border-color-primary); }
.diff-modes button[aria-pressed="true"] { background: var(--color-accent); color: #fff; }
.diff-view button:focus-visible, .diff-view input:focus-visible, .diff-pane:focus-visible {
  outline: 2px solid var(--color-accent); outline-offset: 2px; }
.diff-panel { display: none; min-width: 0; }
.diff-view[data-mode="wipe"] .diff-panel-wipe, .diff-view[data-mode="side"] .diff-panel-side,
.diff-view[data-mode="heatmap"] .diff-panel-heatmap { display: flex; flex-direction: column; gap: .45rem; }
/* One picture box: the pictures' shape, as wide as fits but never taller than most of the window. */
.diff-stage { position: relative; width: min(100%, calc(70vh * var(--diff-ratio))); aspect-ratio: var(--diff-ratio);
  margin: 0 auto; overflow: hidden; border-radius: var(--radius-lg); border: 1px solid var(--border-color-primary);
  background: var(--background-fill-secondary); }
.diff-stage img, .diff-layer { position: absolute; inset: 0; width: 100%; height: 100%; display: block;
  user-select: none; }
.diff-pic-a, .diff-pic-b { background-size: 100% 100%; background-repeat: no-repeat; }
.diff-pic-a { background-image: var(--diff-a); }
.diff-pic-b { background-image: var(--diff-b); }
.diff-wipe-stage { cursor: ew-resize; touch-action: pan-y; }
.diff-wipe-line { position: absolute; top: 0; bottom: 0; width: 2px; margin-left: -1px; pointer-events: none;
  background: #fff; box-shadow: 0 0 0 1px rgba(0, 0, 0, .45); }
.diff-corner { position: absolute; top: .4rem; max-width: 45%; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; font-size: .78rem; padding: .12rem .45rem; border-radius: 999px; pointer-events: none;
  background: rgba(0, 0, 0, .62); color: #fff; }
.diff-corner-a { left: .4rem; }
.diff-corner-b { right: .4rem; }
.diff-wipe { width: min(100%, calc(70vh * var(--diff-ratio))); margin: 0 auto; accent-color: var(--color-accent); }
.diff-zoom-bar { display: flex; align-items: center; flex-wrap: wrap; gap: .3rem; font-size: .85rem; }
.diff-zoom-bar button { margin: 0; line-height: 1.4; border: 1px solid var(--border-color-primary);
  border-radius: var(--radius-md, 6px); background: var(--block-background-fill); min-width: 2rem;
  padding: .2rem .6rem; }
.diff-zoom-level { min-width: 3.2rem; text-align: center; font-variant-numeric: tabular-nums; }
.diff-hint, .diff-legend, .diff-note, .diff-stats { color: var(--body-text-color-subdued); font-size: .85rem; }
.diff-panes { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: .6rem; }
.diff-pane { margin: 0; min-width: 0; width: 100%; max-width: calc(70vh * var(--diff-ratio)); justify-self: center; }
.diff-pane-view { position: relative; aspect-ratio: var(--diff-ratio); overflow: hidden; cursor: grab;
  border-radius: var(--radius-lg); border: 1px solid var(--border-color-primary);
  background: var(--background-fill-secondary); }
.diff-pane-view:active { cursor: grabbing; }
/* Only a zoomed picture takes touch drags; at 100% a swipe still scrolls the page. */
.diff-view[data-zoomed] .diff-pane-view { touch-action: none; }
.diff-zoomable { display: block; width: 100%; height: 100%; transform-origin: 0 0; user-select: none;
  will-change: transform; }
.diff-pane figcaption { font-size: .82rem; margin-top: .25rem; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; }
.diff-legend { display: flex; align-items: center; gap: .5rem; justify-content: center; }
.diff-ramp { display: inline-block; width: min(14rem, 40%); height: .6rem; border-radius: 999px;
  background: RAMP; }
.diff-stats, .diff-note, .diff-verdict { margin: 0; text-align: center; }
.diff-note { font-style: italic; }
/* A media query, not a container query: Gradio rewrites custom CSS rule by rule and drops container rules. */
@media (max-width: 640px) {
  .diff-panes { grid-template-columns: minmax(0, 1fr); }
  .diff-hint { display: none; }
}
""".replace("RAMP", _ramp_css())


# Event delegation on document: the block's HTML is replaced whenever Gradio re-renders it, and <script> inside
# gr.HTML never runs. A view's lasting state (mode, scale, pan, wipe) sits in data- attributes of its .diff-view;
# only an ongoing drag is kept here. Pan is in % of the picture, so panes of any pixel size move together.
DIFF_JS = """
() => {
  if (window.__diffViewWired) return;
  window.__diffViewWired = true;
  const MIN_SCALE = 1, MAX_SCALE = 8, STEP = 1.25;
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const num = (v, d) => { const n = parseFloat(v); return Number.isFinite(n) ? n : d; };
  const inView = (e, sel) => {
    const el = e.target && e.target.closest ? e.target.closest(sel) : null;
    return el && el.closest('.diff-view') ? el : null;
  };
  const view = (el) => el.closest('.diff-view');

  const setZoom = (root, s, x, y) => {
    s = clamp(s, MIN_SCALE, MAX_SCALE);
    const room = (s - 1) * 100;  // how much of the zoomed picture lies outside its pane, in %
    x = clamp(x, -room, 0);
    y = clamp(y, -room, 0);
    root.dataset.scale = String(s);
    root.dataset.x = String(x);
    root.dataset.y = String(y);
    const t = `translate(${x}%, ${y}%) scale(${s})`;
    root.querySelectorAll('.diff-zoomable').forEach((img) => { img.style.transform = t; });
    const level = root.querySelector('.diff-zoom-level');
    if (level) level.textContent = Math.round(s * 100) + '%';
    root.toggleAttribute('data-zoomed', s > 1.0001);
  };
  const zoomAt = (root, factor, cx, cy) => {
    const s = num(root.dataset.scale, 1), x = num(root.dataset.x, 0), y = num(root.dataset.y, 0);
    const s2 = clamp(s * factor, MIN_SCALE, MAX_SCALE);
    // Keep the point under (cx, cy), fractions of the pane, where it is.
    const u = (cx * 100 - x) / s, v = (cy * 100 - y) / s;
    setZoom(root, s2, cx * 100 - u * s2, cy * 100 - v * s2);
  };
  const panBy = (root, dx, dy) => {
    setZoom(root, num(root.dataset.scale, 1), num(root.dataset.x, 0) + dx, num(root.dataset.y, 0) + dy);
  };
  const setWipe = (root, pct) => {
    pct = clamp(pct, 0, 100);
    root.dataset.wipe = String(pct);
    const b = root.querySelector('.diff-wipe-b'), line = root.querySelector('.diff-wipe-line');
    const range = root.querySelector('.diff-wipe');
    if (b) b.style.clipPath = `inset(0 0 0 ${pct}%)`;
    if (line) line.style.left = pct + '%';
    if (range) {
      if (Math.abs(num(range.value, 50) - pct) > 0.01) range.value = String(pct);
      range.setAttribute('aria-valuetext', `A left of ${Math.round(pct)}%, B right`);
    }
  };
  const wipeFromPointer = (stage, e) => {
    const r = stage.getBoundingClientRect();
    if (r.width > 0) setWipe(view(stage), (e.clientX - r.left) / r.width * 100);
  };

  document.addEventListener('click', (e) => {
    const mode = inView(e, '.diff-mode');
    if (mode) {
      const root = view(mode);
      root.dataset.mode = mode.dataset.mode;
      root.querySelectorAll('.diff-mode').forEach((b) => b.setAttribute('aria-pressed', String(b === mode)));
      return;
    }
    const zoom = inView(e, '.diff-zoom');
    if (zoom) { zoomAt(view(zoom), zoom.dataset.zoom === 'out' ? 1 / STEP : STEP, 0.5, 0.5); return; }
    const reset = inView(e, '.diff-reset');
    if (reset) setZoom(view(reset), 1, 0, 0);
  });

  document.addEventListener('input', (e) => {
    const range = inView(e, '.diff-wipe');
    if (range) setWipe(view(range), num(range.value, 50));
  });

  document.addEventListener('wheel', (e) => {
    const pane = inView(e, '.diff-pane-view');
    if (!pane) return;
    e.preventDefault();  // the wheel zooms the pictures instead of scrolling the page
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
    const factor = Math.exp(clamp(-e.deltaY * unit * 0.002, -0.5, 0.5));
    const r = pane.getBoundingClientRect();
    zoomAt(view(pane), factor, (e.clientX - r.left) / r.width, (e.clientY - r.top) / r.height);
  }, { passive: false });

  let drag = null;  // { kind: 'pan' | 'wipe', el, id, x, y, x0, y0 }
  document.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    const pane = inView(e, '.diff-pane-view');
    const stage = pane ? null : inView(e, '.diff-wipe-stage');
    if (!pane && !stage) return;
    e.preventDefault();
    const el = pane || stage;
    const root = view(el);
    drag = { kind: pane ? 'pan' : 'wipe', el, id: e.pointerId, x: e.clientX, y: e.clientY,
             x0: num(root.dataset.x, 0), y0: num(root.dataset.y, 0) };
    try { el.setPointerCapture(e.pointerId); } catch (_) { /* synthetic events have no capturable pointer */ }
    if (stage) wipeFromPointer(stage, e);
    else pane.closest('.diff-pane').focus({ preventScroll: true });  // so +/- and arrows act on it next
  });
  document.addEventListener('pointermove', (e) => {
    if (!drag || e.pointerId !== drag.id) return;
    if (!drag.el.isConnected) { drag = null; return; }  // re-rendered mid-drag
    if (drag.kind === 'wipe') { wipeFromPointer(drag.el, e); return; }
    const root = view(drag.el), r = drag.el.getBoundingClientRect();
    if (!r.width || !r.height) return;
    setZoom(root, num(root.dataset.scale, 1),
            drag.x0 + (e.clientX - drag.x) / r.width * 100, drag.y0 + (e.clientY - drag.y) / r.height * 100);
  });
  const endDrag = (e) => { if (drag && e.pointerId === drag.id) drag = null; };
  document.addEventListener('pointerup', endDrag);
  document.addEventListener('pointercancel', endDrag);

  document.addEventListener('keydown', (e) => {
    const pane = inView(e, '.diff-pane');
    if (!pane || e.ctrlKey || e.metaKey || e.altKey) return;
    const root = view(pane), step = 10;
    const keys = {
      '+': () => zoomAt(root, STEP, 0.5, 0.5), '=': () => zoomAt(root, STEP, 0.5, 0.5),
      '-': () => zoomAt(root, 1 / STEP, 0.5, 0.5), '_': () => zoomAt(root, 1 / STEP, 0.5, 0.5),
      '0': () => setZoom(root, 1, 0, 0),
      ArrowLeft: () => panBy(root, step, 0), ArrowRight: () => panBy(root, -step, 0),
      ArrowUp: () => panBy(root, 0, step), ArrowDown: () => panBy(root, 0, -step),
    };
    const act = keys[e.key];
    if (!act) return;
    if (e.key.startsWith('Arrow') && num(root.dataset.scale, 1) <= 1) return;  // nothing to pan: let the page scroll
    e.preventDefault();
    act();
  });
}
"""
