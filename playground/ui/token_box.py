"""“Your Krea API token”: a visitor of a hosted app uses their own token, for their own tab only.

The token goes from the password box to this server's memory (the session registry) and nowhere else: the box
is cleared at once, the endpoint is not public (so Gradio's run history never records it), it is never echoed,
logged or written to disk, and it is dropped when the tab closes or the visitor clicks Forget.
"""

from __future__ import annotations

import gradio as gr

from playground.ui.context import UIContext


def _state_text(source: str, backend_name: str) -> str:
    if source == "user":
        return ("✅ This tab uses **your token** with Krea's API. It is kept in this server's memory for this tab only "
                "and forgotten when you close it or click *Forget*.")
    if backend_name == "sandbox":
        return ("This tab uses the **sandbox** (no token needed). Paste a Krea API token to send this tab's jobs to "
                "Krea instead; they are billed to your account.")
    if source == "env":
        return "This tab uses the app's own Krea token. You may paste yours to use your own account instead."
    return "⚠️ **No token yet.** Paste your Krea API token to generate (from krea.ai/settings/api-tokens)."


def build_token_box(ctx: UIContext) -> None:
    open_by_default = not ctx.backend.is_sandbox and not ctx.backend.shared_token
    with gr.Accordion("Your Krea API token", open=open_by_default, elem_id="token-box"):
        with gr.Row(equal_height=True):
            token = gr.Textbox(label="API token", type="password", placeholder="paste a token from krea.ai",
                               elem_id="token-input", scale=4)
            use_btn = gr.Button("Use my token", variant="primary", elem_id="token-use", scale=1)
            forget_btn = gr.Button("Forget", elem_id="token-forget", scale=1)
        state = gr.Markdown(_state_text("sandbox" if ctx.backend.is_sandbox else
                                        ("env" if ctx.backend.shared_token else "none"), ctx.backend.name),
                            elem_id="token-state")

    def use_token(request: gr.Request, value: str):
        session = request.session_hash or "anonymous"
        value = (value or "").strip()
        if not value:
            return "", "Paste a token first."
        verdict = ctx.sessions.check_token(session, value)
        if verdict == "refused":
            return "", "❌ Krea refused that token. Check it at krea.ai/settings/api-tokens and paste it again."
        # Runs this browser made with a pasted token before a restart were waiting for one: follow them again.
        resumed = ctx.service.resume_unfinished(session)
        note = f"\n\nFollowing {resumed} unfinished run{'s' if resumed != 1 else ''} again (see History)." \
            if resumed else ""
        if verdict.startswith("unchecked: "):
            return "", f"{_state_text('user', 'krea')}\n\n⚠️ It could not be checked right now: {verdict[11:]}{note}"
        return "", _state_text("user", "krea") + note

    def forget(request: gr.Request):
        session = request.session_hash or "anonymous"
        ctx.sessions.forget_token(session)
        return "", _state_text(ctx.sessions.token_source(session), ctx.backend.name)

    # Not public: Gradio 6 records public endpoint inputs in the browser's localStorage (run history).
    use_btn.click(use_token, token, [token, state], queue=False, api_name="use_token",
                  api_visibility="undocumented")
    token.submit(use_token, token, [token, state], queue=False, api_visibility="private")
    forget_btn.click(forget, None, [token, state], queue=False, api_name="forget_token",
                     api_visibility="undocumented")
