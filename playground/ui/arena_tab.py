"""The Arena tab: a blind round between two models on your prompt, a vote by button or key, the reveal, and the
leaderboard.

Nothing that names a model reaches the page before the vote: the pairing lives in server-side state, the images
are blinded copies (``arena.blind_copy``: no PNG text chunks, a random file name), and the sides' status says only
where each job is. Names, times and costs appear once the vote is in.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from html import escape
from pathlib import Path

import gradio as gr

from playground.arena import KEY_OUTCOMES, OUTCOME_WORDS, blind_copy, model_costs, standings
from playground.grid_plan import GridInputError, parse_prompts
from playground.journal import off_the_loop
from playground.krea.errors import ErrorKind
from playground.runs import Phase, RunError, RunRecord, RunRefused
from playground.ui.context import UIContext
from playground.ui.leaderboard import cost_plot_svg, leaderboard_html, win_matrix_html
from playground.ui.render import error_html, seconds

DEFAULT_POOL = ("bfl/flux-1-dev", "krea/krea-2/medium", "google/imagen-4", "bytedance/seedream-4",
                "openai/gpt-image-2")
SIDES = ("a", "b")

# Keys 1, 2, 0 and X vote; Enter starts the next round. Only while the Arena tab is on screen, and never while
# typing in a field (Enter in the prompt box is the box's own submit).
ARENA_JS = """
() => {
  if (window.__arenaKeys) return;
  window.__arenaKeys = true;
  const KEYS = {'1': 'arena-vote-a', '2': 'arena-vote-b', '0': 'arena-vote-tie', 'x': 'arena-vote-bad',
                'enter': 'arena-next'};
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    const typing = t && (t.isContentEditable || /^(TEXTAREA|SELECT)$/.test(t.tagName) ||
      (t.tagName === 'INPUT' && !/^(checkbox|radio|button|submit|range)$/.test(t.type)));
    const key = (e.key || '').toLowerCase();
    if (typing || (key === 'enter' && t && /^(BUTTON|A|INPUT)$/.test(t.tagName))) return;  // their own Enter
    const id = KEYS[key];
    if (!id) return;
    const btn = document.getElementById(id);
    if (!btn || btn.offsetParent === null || btn.disabled) return;
    e.preventDefault();
    btn.click();
  });
}
"""

ARENA_CSS = """
#arena-sides { gap: 12px; }
.arena-side-head { display: flex; align-items: baseline; gap: .5rem; font-size: .95rem; }
.arena-side-head .side { font-weight: 700; font-size: 1.15rem; }
.arena-side-head .muted { color: var(--body-text-color-subdued); }
#arena-votes { flex-wrap: wrap; gap: 8px; }
#arena-votes button { flex: 1 1 140px; }
.arena-reveal { padding: .55rem .75rem; border-radius: var(--radius-lg); border: 1px solid var(--border-color-primary);
  background: var(--background-fill-secondary); line-height: 1.5; }
.arena-reveal .won { font-weight: 700; }
.arena-board-wrap { overflow-x: auto; max-width: 100%; }
.arena-board, .arena-matrix { border-collapse: collapse; font-size: .9rem; min-width: 100%; border: 0 !important; }
.arena-board th, .arena-board td, .arena-matrix th, .arena-matrix td { padding: .35rem .55rem !important;
  text-align: left; border: 0 !important; border-bottom: 1px solid var(--border-color-primary) !important;
  white-space: nowrap; }
.arena-board thead th, .arena-matrix thead th { font-weight: 600; color: var(--body-text-color-subdued); }
.arena-plot { margin: .5rem 0 0; max-width: 720px; }
.arena-plot figcaption { font-size: .85rem; color: var(--body-text-color-subdued); margin-bottom: .25rem; }
.arena-plot svg { width: 100%; height: auto; overflow: visible; }
.arena-plot text { font-size: 11px; fill: var(--body-text-color-subdued); }
.arena-plot text.label { fill: var(--body-text-color); font-size: 12px; }
.arena-plot .axis { stroke: var(--border-color-primary); }
.arena-plot .grid { stroke: var(--border-color-primary); stroke-dasharray: 2 3; opacity: .6; }
.arena-plot .ci { stroke: var(--color-accent); stroke-width: 2; opacity: .45; }
.arena-plot circle { fill: var(--color-accent); }
.arena-board td.num, .arena-matrix td { text-align: right; font-variant-numeric: tabular-nums; }
.arena-board td.rank { font-weight: 700; }
.arena-matrix td small { margin-left: .25rem; }  /* no opacity: faded text fails contrast on the tints */
.arena-matrix td.none { text-align: center; color: var(--body-text-color-subdued); }
.arena-method, .arena-empty, .arena-keys { font-size: .85rem; color: var(--body-text-color-subdued); }
"""


@dataclass(frozen=True)
class RoundState:
    """The round on screen, kept on the server (gr.State): who is A and B never leaves it before the vote."""

    round_id: str
    prompt: str
    model_a: str
    model_b: str
    records: tuple[RunRecord | None, RunRecord | None] = (None, None)
    voted: str | None = None  # the outcome, once voted

    @property
    def ready(self) -> bool:
        return all(r is not None and r.phase == Phase.DONE and r.image_path for r in self.records)

    @property
    def ended(self) -> bool:
        return all(r is not None and r.is_terminal for r in self.records)


def side_html(side: str, record: RunRecord | None, revealed_name: str | None = None) -> str:
    """A side's head: its letter, where its job is (no name, no time: both could tell the model), and after the
    vote the model's name, time and cost."""
    letter = side.upper()
    if revealed_name is not None and record is not None:
        cost = f" · ${record.cost_usd:.3f}" if record.cost_usd is not None else ""
        return (f'<div class="arena-side-head"><span class="side">{letter}</span><b>{escape(revealed_name)}</b>'
                f'<span class="muted">{seconds(record.total_s)}{cost}</span></div>')
    if record is None:
        state = "waiting"
    elif record.phase == Phase.DONE:
        state = "ready"
    elif record.phase in (Phase.FAILED, Phase.CANCELLED):
        state = "failed" if record.phase == Phase.FAILED else "cancelled"
    else:
        state = "working…"
    return (f'<div class="arena-side-head" data-state="{state}"><span class="side">{letter}</span>'
            f'<span class="muted">{state}</span></div>')


def reveal_html(state: RoundState, names: dict[str, str]) -> str:
    if state.voted is None:
        return ""
    a, b = names.get(state.model_a, state.model_a), names.get(state.model_b, state.model_b)
    winner = {"a": a, "b": b}.get(state.voted)
    verdict = (f'<span class="won">{escape(winner)}</span> won' if winner
               else "A tie" if state.voted == "tie" else "Both judged bad")
    return (f'<div class="arena-reveal" role="status" id="arena-reveal-text">Your vote: '
            f"<b>{escape(OUTCOME_WORDS[state.voted])}</b>. A was <b>{escape(a)}</b>, B was <b>{escape(b)}</b>. "
            f"{verdict}. Press <kbd>Enter</kbd> or Next for another round.</div>")


def next_prompt(typed: str, use_list: bool, list_text: str, list_file: str | None, index: int) -> tuple[str, int]:
    """The round's prompt: the typed one, or the next of the loaded list (cycling). RunRefused naming the field."""
    if not use_list:
        return typed or "", index
    try:
        prompts = parse_prompts(list_text, list_file).items
    except GridInputError as exc:
        raise RunRefused.invalid("arena-prompt-list", str(exc)) from None
    if not prompts:
        raise RunRefused.invalid("arena-prompt-list", "The prompt list is empty: type prompts, one per line, or "
                                                      "upload a .txt or .csv file.")
    return prompts[index % len(prompts)], index + 1


def build_arena_tab(ctx: UIContext) -> None:
    evaluation = ctx.evaluation
    models = ctx.service.text_models
    known = {m.id for m in models}
    names = {m.id: m.name for m in ctx.catalog.models}

    with gr.Row(elem_id="arena-run-row"):
        prompt = gr.Textbox(label="Prompt", lines=1, max_lines=4, elem_id="arena-prompt", scale=5,
                            placeholder="A prompt for both hidden models…  (Enter to start)")
        start_btn = gr.Button("Start round", variant="primary", elem_id="arena-start", scale=1, min_width=150)
    with gr.Accordion("Pool and prompt list", open=False, elem_id="arena-settings"):
        pool = gr.CheckboxGroup([(m.name, m.id) for m in models], value=[m for m in DEFAULT_POOL if m in known],
                                label="Models to draw from (two per round; pairs with few votes come up more often)",
                                elem_id="arena-pool")
        with gr.Row():
            use_list = gr.Checkbox(False, label="Draw each round's prompt from this list", elem_id="arena-use-list")
        with gr.Row(equal_height=False):
            list_text = gr.Textbox(label="Prompt list (one per line)", lines=4, elem_id="arena-prompt-list",
                                   scale=3)
            list_file = gr.File(label="…or a .txt / .csv file", file_types=[".txt", ".csv"], type="filepath",
                                elem_id="arena-prompt-file", scale=2)
    status = gr.HTML(elem_id="arena-status")
    with gr.Row(elem_id="arena-sides", equal_height=True):
        with gr.Column(min_width=260):
            head_a = gr.HTML(side_html("a", None), elem_id="arena-a-head")
            image_a = gr.Image(label="A", show_label=False, type="filepath", interactive=False, height=420,
                               buttons=["fullscreen"], elem_id="arena-a-image")
        with gr.Column(min_width=260):
            head_b = gr.HTML(side_html("b", None), elem_id="arena-b-head")
            image_b = gr.Image(label="B", show_label=False, type="filepath", interactive=False, height=420,
                               buttons=["fullscreen"], elem_id="arena-b-image")
    with gr.Row(elem_id="arena-votes"):
        vote_buttons = {
            "a": gr.Button("A is better  (1)", elem_id="arena-vote-a", interactive=False),
            "b": gr.Button("B is better  (2)", elem_id="arena-vote-b", interactive=False),
            "tie": gr.Button("Tie  (0)", elem_id="arena-vote-tie", interactive=False),
            "both_bad": gr.Button("Both bad  (X)", elem_id="arena-vote-bad", interactive=False),
        }
    reveal = gr.HTML(elem_id="arena-reveal")
    with gr.Row(elem_id="arena-after"):
        next_btn = gr.Button("Next round  (Enter)", variant="primary", elem_id="arena-next", visible=False)
        undo_btn = gr.Button("Undo my last vote", size="sm", elem_id="arena-undo")
    gr.HTML('<p class="arena-keys">Keys: <kbd>1</kbd> A · <kbd>2</kbd> B · <kbd>0</kbd> tie · <kbd>X</kbd> both bad · '
            "<kbd>Enter</kbd> next round.</p>")

    with gr.Accordion("Leaderboard", open=True, elem_id="arena-leaderboard-box"):
        with gr.Row():
            scope = gr.Radio([("My votes", "mine"), ("Every visitor's votes", "everyone")], value="mine",
                             label="Counting", elem_id="arena-scope", visible=evaluation.can_show_everyone)
            refresh_btn = gr.Button("↻ Refresh", size="sm", elem_id="arena-refresh", scale=0, min_width=110)
        board = gr.HTML(leaderboard_html([], {}, names, 0), elem_id="arena-leaderboard")
        matrix = gr.HTML(elem_id="arena-matrix")
        plot = gr.HTML(elem_id="arena-cost-plot")
        csv_btn = gr.DownloadButton("Download votes (CSV)", elem_id="arena-csv", interactive=False)

    round_state = gr.State(None)
    list_index = gr.State(0)
    votes_out = list(vote_buttons.values())

    # --- the leaderboard ---------------------------------------------------------------------------------------

    def board_values(session: str, scope_value: str) -> list:
        everyone = scope_value == "everyone"
        votes = evaluation.votes_of(session, everyone)
        table = standings(votes)
        costs = model_costs(votes, ctx.service.store)
        csv_path = None
        if votes:
            out = Path(tempfile.mkdtemp(prefix="arena-"))
            csv_path = str(evaluation.votes.export_csv(evaluation.vote_owner(session, everyone), out, names))
        return [leaderboard_html(table, costs, names, len(votes)),
                win_matrix_html([v.vote for v in votes], names, [s.model for s in table]),
                cost_plot_svg(table, costs, names),
                gr.update(value=csv_path, interactive=csv_path is not None)]

    board_outputs = [board, matrix, plot, csv_btn]

    def refresh_board(request: gr.Request, scope_value: str):
        return board_values(request.session_hash or "anonymous", scope_value)

    for trigger in (refresh_btn.click, scope.change):
        trigger(refresh_board, scope, board_outputs, api_visibility="private", concurrency_limit=4,
                concurrency_id="arena-board")

    # --- a round -----------------------------------------------------------------------------------------------

    round_outputs = [status, head_a, image_a, head_b, image_b, *votes_out, reveal, next_btn, round_state,
                     list_index]

    def frame(state: RoundState | None, message: str = "", images=(gr.skip(), gr.skip()), index=gr.skip()):
        records = state.records if state is not None else (None, None)
        can_vote = state is not None and state.ready and state.voted is None
        return [message, side_html("a", records[0]), images[0], side_html("b", records[1]), images[1],
                *[gr.update(interactive=can_vote) for _ in votes_out], "",
                gr.update(visible=state is not None and (state.voted is not None or state.ended and not state.ready)),
                state, index]

    async def start(request: gr.Request, typed: str, pool_ids: list[str], listed: bool, text: str, file,
                    index: int):
        session = request.session_hash or "anonymous"
        try:
            prompt_text, index = next_prompt(typed, listed, text, file, index)
            arena_round, watch = await off_the_loop(evaluation.start_round, session, prompt_text, pool_ids or [])
        except RunRefused as refused:
            yield frame(None, error_html(refused.error), (None, None))
            return
        state = RoundState(arena_round.round_id, arena_round.prompt, arena_round.pairing.model_a,
                           arena_round.pairing.model_b)
        prompt_note = (f'<p class="arena-method">Prompt: {escape(state.prompt)}</p>' if listed else "")
        yield frame(state, prompt_note, (None, None), index)
        shown = [None, None]
        async for snapshot in watch:
            records = tuple(snapshot.records(list(arena_round.plan.adapted), arena_round.round_id))
            for i, record in enumerate(records):
                if record.phase == Phase.DONE and record.image_path and shown[i] is None:
                    shown[i] = await off_the_loop(blind_copy, record.image_path)
            # Always the current pictures: an image output that skips updates was seen to lose its final value in
            # the browser when updates came fast (as on the Generate tab).
            images = tuple(shown)
            state = replace(state, records=records)
            message = prompt_note
            if state.ended and not state.ready:
                failed = "A" if records[0].phase != Phase.DONE else "B"
                message += error_html(RunError(ErrorKind.JOB_FAILED, f"Side {failed} did not finish, so this round "
                                               "cannot be voted. Start the next round.", field="arena-vote"))
            yield frame(state, message, images)

    start_inputs = [prompt, pool, use_list, list_text, list_file, list_index]
    gr.on([start_btn.click, prompt.submit, next_btn.click], start, start_inputs, round_outputs,
          api_visibility="private", concurrency_limit=ctx.concurrency_limit, concurrency_id="arena",
          show_progress="hidden")

    # --- voting ------------------------------------------------------------------------------------------------

    def vote(request: gr.Request, outcome: str, state: RoundState | None, scope_value: str):
        session = request.session_hash or "anonymous"
        if state is None or not state.ready:
            error = RunError(ErrorKind.INVALID, "Wait until both images are in: a vote needs both.",
                             field="arena-vote")
            return [error_html(error), *[gr.skip()] * (len(vote_outputs) - 1)]
        try:
            evaluation.vote(session, state.round_id, outcome)
        except RunRefused as refused:
            return [error_html(refused.error), *[gr.skip()] * (len(vote_outputs) - 1)]
        state = replace(state, voted=outcome)
        return ["", side_html("a", state.records[0], names.get(state.model_a, state.model_a)),
                side_html("b", state.records[1], names.get(state.model_b, state.model_b)),
                *[gr.update(interactive=False) for _ in votes_out], reveal_html(state, names),
                gr.update(visible=True), state, *board_values(session, scope_value)]

    vote_outputs = [status, head_a, head_b, *votes_out, reveal, next_btn, round_state, *board_outputs]
    def voter(outcome: str):
        def vote_for(request: gr.Request, state: RoundState | None, scope_value: str):
            return vote(request, outcome, state, scope_value)
        return vote_for

    for outcome, button in vote_buttons.items():
        button.click(voter(outcome), [round_state, scope], vote_outputs, api_visibility="private",
                     concurrency_limit=4, concurrency_id="arena-vote")

    def undo(request: gr.Request, state: RoundState | None, scope_value: str):
        session = request.session_hash or "anonymous"
        undone = evaluation.undo_vote(session)
        if undone is None:
            return ['<p class="arena-method">No vote to undo.</p>', gr.skip(), gr.skip(),
                    *board_values(session, scope_value)]
        word = OUTCOME_WORDS.get(undone.outcome, undone.outcome)
        message = (f'<p class="arena-method" role="status">Undid “{escape(word)}” on '
                   f"{escape(names.get(undone.model_a, undone.model_a))} vs "
                   f"{escape(names.get(undone.model_b, undone.model_b))}.</p>")
        this_round = state is not None and state.round_id == undone.round_id
        if this_round:
            state = replace(state, voted=None)
        buttons = [gr.update(interactive=this_round and state.ready) for _ in votes_out] if this_round \
            else [gr.skip() for _ in votes_out]
        return [message, state if this_round else gr.skip(), "" if this_round else gr.skip(),
                *board_values(session, scope_value), *buttons]

    undo_btn.click(undo, [round_state, scope], [status, round_state, reveal, *board_outputs, *votes_out],
                   api_visibility="private", concurrency_limit=4, concurrency_id="arena-vote")
    ctx.demo.load(refresh_board, scope, board_outputs, api_visibility="private", queue=False)


__all__ = ["ARENA_CSS", "ARENA_JS", "KEY_OUTCOMES", "build_arena_tab"]
