"""The Gradio app: header, backend banner, tabs, and the launch options that keep it safe to host."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import gradio as gr
from starlette.middleware import Middleware

from playground.api import register_api
from playground.backend import live_catalog
from playground.catalog import Catalog
from playground.krea.errors import ErrorKind
from playground.outputs import PREVIEW_DIR
from playground.quiet_queue import quiet_queue
from playground.recipes import CompareRecipe, RecipeError, recipe_from_query
from playground.runs import RunError
from playground.service import RunService
from playground.sessions import Backend, SessionRegistry
from playground.settings import Settings, is_hosted
from playground.store import RunStore
from playground.contact_sheet import CONTACT_SHEET_CSS
from playground.evaluation import Evaluation
from playground.ui.arena_tab import ARENA_CSS, ARENA_JS, build_arena_tab
from playground.ui.compare_tab import build_compare_tab
from playground.ui.diff_view import DIFF_CSS, DIFF_JS
from playground.ui.field_errors import FIELD_ERRORS_CSS, FIELD_ERRORS_JS
from playground.ui.grid_tab import GRID_CSS, GRID_JS, build_grid_tab
from playground.ui.context import UIContext
from playground.ui.generate_tab import build_generate_tab
from playground.ui.history_tab import build_history_tab
from playground.ui.models_refresh import ModelList, wire_model_refresh
from playground.ui.private_files import PrivateFolders
from playground.ui.webhook_receiver import WebhookReceiver
from playground.ui.render import backend_banner, status_html
from playground.ui.shortcuts import FOCUS_JS, SHORTCUTS_CSS, SHORTCUTS_JS, shortcuts_html
from playground.ui.theme import A11Y_JS, FAVICON_PATH, theme
from playground.ui.token_box import build_token_box

STYLE_PATH = Path(__file__).with_name("style.css")
GENERATE_STYLE_PATH = Path(__file__).with_name("generate.css")  # the Generate tab's layout
COMPARE_STYLE_PATH = Path(__file__).with_name("compare.css")  # the Compare tab's layout
OWNER_ID = re.compile(r"[A-Za-z0-9_-]{32}")  # secrets.token_urlsafe(24)

# Runs once when the page loads:
# - Ctrl/Cmd+Enter runs the visible tab from any field. Enter in a prompt box is Gradio's own submit, so the
#   prompt boxes are left to it (handling them here too would start two runs).
# - Clicking a result image (Generate, or any Compare tile) opens it large, through the image's own fullscreen
#   button (a small icon otherwise).
# - Live counters: the server sends elapsed/queue/run seconds on each job update (marked data-tick); between
#   updates (Krea is polled every few seconds) the page adds the time since that value arrived.
PAGE_JS = """
() => {
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || !(e.ctrlKey || e.metaKey)) return;
    if (e.target.closest && e.target.closest('#prompt, #compare-prompt')) return;
    const buttons = [...document.querySelectorAll('#generate-btn, #compare-btn')];
    const btn = buttons.find((b) => b.offsetParent !== null);
    if (btn) { e.preventDefault(); btn.click(); }
  });
  document.addEventListener('click', (e) => {
    const img = e.target.closest && e.target.closest('#result-image img, .tile img');
    if (!img) return;
    const box = img.closest('#result-image, [id^="tile-"][id$="-image"]');
    const full = box && [...box.querySelectorAll('button')].find(
      (b) => /full ?screen/i.test(b.getAttribute('aria-label') || b.title || ''));
    if (full) full.click();
  });
  // History: a click (or Enter) on a row selects that run, through the hidden #history-pick box.
  const pickRow = (row) => {
    const box = document.querySelector('#history-pick textarea, #history-pick input');
    if (!box) return;
    row.parentElement.querySelectorAll('tr').forEach((r) => {
      r.classList.toggle('selected', r === row);
      r.setAttribute('aria-selected', r === row ? 'true' : 'false');
    });
    box.value = row.dataset.runId;
    box.dispatchEvent(new Event('input', { bubbles: true }));
  };
  document.addEventListener('click', (e) => {
    const row = e.target.closest && e.target.closest('#history-table tr[data-run-id]');
    if (row) pickRow(row);
  });
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    const row = e.target.closest && e.target.closest('#history-table tr[data-run-id]');
    if (row) { e.preventDefault(); pickRow(row); }
  });
  const arrived = new WeakMap();
  setInterval(() => {
    const now = performance.now();
    document.querySelectorAll('.run-status [data-tick]').forEach((el) => {
      const base = el.dataset.tick;
      const seen = arrived.get(el);
      if (!seen || seen.base !== base) arrived.set(el, { base, at: now });
      const value = parseFloat(base) + (now - arrived.get(el).at) / 1000;
      el.textContent = value < 100 ? value.toFixed(1) + ' s' : (value / 60).toFixed(1) + ' min';
    });
  }, 200);
}
"""


def build_demo(settings: Settings, backend: Backend, catalog: Catalog) -> tuple[gr.Blocks, RunService]:
    """Build the whole page and the documented API. Returns the Blocks and the run service (tests inspect it)."""
    bundled = catalog
    models = live_catalog(backend, catalog)  # against Krea: its live model list, else the bundled one
    catalog = models.catalog
    sessions = SessionRegistry(backend)
    store = RunStore(settings.app.data_dir)
    service = RunService(catalog, backend, sessions, settings.app.output_dir, store,
                         hosted=is_hosted(settings.app), session_run_limit=settings.app.session_run_limit,
                         spend_cap_usd=settings.app.spend_cap_usd)
    service.resume_unfinished()  # jobs a previous run of the app left unfinished (killed, restarted)
    # delete_cache: every hour, drop cached files (previews, copies of results) older than a day, so a long-running
    # hosted app does not fill its disk. The saved PNGs in the output folder are not touched.
    with gr.Blocks(title="Krea Playground", fill_width=False, delete_cache=(3600, 86400)) as demo:
        ctx = UIContext(demo=demo, catalog=catalog, backend=backend, sessions=sessions, service=service,
                        concurrency_limit=settings.app.concurrency_limit,
                        evaluation=Evaluation(service, shared_leaderboard=settings.app.shared_leaderboard))
        with gr.Row(elem_id="header"):
            gr.HTML('<div class="app-title"><span class="logo" aria-hidden="true">◐</span> Krea Playground'
                    '<span class="subtitle">text-to-image, every model, side by side</span>'
                    + shortcuts_html() + '</div>')
            # Against Krea only: the sandbox serves the bundled catalog, so there is nothing newer to read.
            refresh_btn = gr.Button("↻ Refresh models", size="sm", elem_id="refresh-models", scale=0,
                                    min_width=150, visible=not backend.is_sandbox)

        def banner_html(refresh) -> str:
            note = " ".join(n for n in (banner_note(settings, backend), refresh.note) if n)
            return backend_banner(backend.name, backend.base_url, note)

        banner = gr.HTML(banner_html(models))
        build_token_box(ctx)
        with gr.Tabs(elem_id="tabs") as tabs:
            with gr.Tab("Generate", id="generate", elem_id="tab-generate"):
                generate = build_generate_tab(ctx)
            with gr.Tab("Compare", id="compare", elem_id="tab-compare"):
                compare = build_compare_tab(ctx)
            with gr.Tab("Arena", id="arena", elem_id="tab-arena"):
                build_arena_tab(ctx)
            with gr.Tab("Grid", id="grid", elem_id="tab-grid"):
                build_grid_tab(ctx)
            with gr.Tab("History", id="history", elem_id="tab-history") as history_tab:
                build_history_tab(ctx, history_tab, tabs, generate, compare)
        wire_links(ctx, tabs, generate, compare)
        wire_model_refresh(ModelList(ctx, bundled, models), refresh_btn, banner, banner_html, generate, compare)
        demo.load(None, None, None, js=PAGE_JS)
        # Each wires its own delegated listeners, once.
        for page_js in (DIFF_JS, GRID_JS, ARENA_JS, FIELD_ERRORS_JS, A11Y_JS, SHORTCUTS_JS, FOCUS_JS):
            demo.load(None, None, None, js=page_js)

        # The browser's private id, kept in its localStorage (encrypted with a secret that survives restarts):
        # runs belong to it, so a reload finds them again and, hosted, nobody else sees them.
        owner = gr.BrowserState("", storage_key="krea-playground-owner",
                                secret=store.meta("browser_state_secret", lambda: secrets.token_hex(32)))

        def claim_owner(current: str, request: gr.Request):
            session = request.session_hash or "anonymous"
            owner_id = current if isinstance(current, str) and OWNER_ID.fullmatch(current) else \
                secrets.token_urlsafe(24)
            service.claim_owner(session, owner_id)
            return owner_id

        demo.load(claim_owner, owner, owner, queue=False, api_visibility="private")

        def forget_session(request: gr.Request):
            session = request.session_hash or "anonymous"
            service.forget_references(session)  # before the route goes: the cache is keyed by its client
            sessions.drop(session)

        demo.unload(forget_session)
        register_api(service, settings.app.concurrency_limit)
    quiet_queue(demo)  # Gradio 6.31's idle queue polls at 1 kHz; this one sleeps until work arrives
    return demo, service


def banner_note(settings: Settings, backend: Backend) -> str:
    """On a hosted app, whose account pays and within which limits (empty: the usual wording)."""
    if backend.is_sandbox or not is_hosted(settings.app):
        return ""
    if not backend.shared_token:
        return "Paste your own Krea API token below to generate: your jobs are billed to your account."
    cap = settings.app.spend_cap_usd
    return (f"Jobs are billed to this app's owner: at most {settings.app.session_run_limit} runs at once per "
            "visitor" + (f", and ${cap:.2f} a day for everyone together" if cap is not None else "")
            + ". With your own token (below), they are billed to you instead.")


def wire_links(ctx: UIContext, tabs: gr.Tabs, generate, compare) -> None:
    """A link's query string (``?model=…&prompt=…`` or ``?tab=compare&…``) fills its form when the page opens."""
    compare_outputs = list(compare.fill_outputs) if compare is not None else []
    outputs = [*generate.fill_outputs, *compare_outputs, tabs, generate.status]
    skip_all = [gr.skip()] * len(outputs)

    def prefill(request: gr.Request):
        query = dict(request.query_params) if request is not None else {}
        try:
            recipe = recipe_from_query(ctx.catalog, query)
            if recipe is None:
                return skip_all
            if isinstance(recipe, CompareRecipe):
                if compare is None:
                    return skip_all
                return [*[gr.skip()] * len(generate.fill_outputs), *compare.fill(recipe), gr.Tabs(selected="compare"),
                        gr.skip()]
            if not recipe.model_id:  # a prompt alone
                return [gr.skip(), recipe.prompt, *[gr.skip()] * (len(outputs) - 2)]
            return [*generate.fill(recipe), *[gr.skip()] * len(compare_outputs), gr.Tabs(selected="generate"),
                    gr.skip()]
        except RecipeError as exc:
            error = RunError(ErrorKind.INVALID, f"{exc} The form was left as it was.", field="link")
            return [*skip_all[:-1], status_html(None, error=error)]

    ctx.demo.load(prefill, None, outputs, queue=False, api_visibility="private")


def middleware(settings: Settings, backend: Backend | None) -> list[Middleware]:
    """ASGI layers in front of Gradio: private folders stay private; Krea's job calls reach the followers."""
    layers = [Middleware(PrivateFolders, folders=(settings.app.output_dir, PREVIEW_DIR, settings.app.data_dir))]
    if backend is not None and backend.webhook_path:
        layers.append(Middleware(WebhookReceiver, path=backend.webhook_path))
    return layers


def launch_options(settings: Settings, backend: Backend | None = None) -> dict:
    """Options for demo.launch(): no run history (inputs may carry tokens), no outbound calls, bounded threads."""
    return {
        "server_name": settings.app.host,
        "server_port": settings.app.port,
        "share": settings.app.share,
        "max_threads": settings.app.max_threads,
        "run_history": False,
        "footer_links": ["api", "settings"],
        # Finished PNGs and preview JPEGs: the API's FileData outputs are served from these folders.
        "allowed_paths": [str(settings.app.output_dir), str(PREVIEW_DIR)],
        # …but only for Gradio to copy them into its cache: direct reads by their own paths are refused.
        "app_kwargs": {"middleware": middleware(settings, backend)},
        "theme": theme(),
        "favicon_path": str(FAVICON_PATH) if FAVICON_PATH.exists() else None,
        "css_paths": [str(STYLE_PATH), str(GENERATE_STYLE_PATH), str(COMPARE_STYLE_PATH)],
        "css": "\n".join((DIFF_CSS, CONTACT_SHEET_CSS, GRID_CSS, ARENA_CSS, FIELD_ERRORS_CSS, SHORTCUTS_CSS)),
        "enable_monitoring": False,
        "max_file_size": f"{settings.app.max_upload_mb}mb",  # Gradio refuses larger uploads (413) before reading
        "auth": list(settings.app.auth) or None,  # Gradio's own login page for the whole app and its API
        "auth_message": "This Krea Playground is private: sign in with the login you were given.",
    }
