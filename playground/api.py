"""The documented scripting endpoints: /generate, /compare, /models and /runs, with typed, named parameters.

    from gradio_client import Client
    client = Client("http://127.0.0.1:7860/")
    image, record = client.predict(model="bfl/flux-1-dev", prompt="a red fox", api_name="/generate")

They go through the same run service as the tabs, so the rules, records and errors are the same. A request that
cannot run (a bad value, no token, over budget) raises an error whose message names the field; a run that fails
at Krea returns its record with ``error`` set. The tabs' own events are private and not part of this API.
"""

# No `from __future__ import annotations` here: gr.api reads the return annotation as an object to declare the
# outputs (with postponed annotations it saw one untyped output instead of an image and a record).
import uuid
from typing import Any

import gradio as gr
from gradio import FileData
from gradio.utils import get_upload_folder, is_in_or_equal

from playground.catalog import Model
from playground.journal import off_the_loop
from playground.references import DEFAULT_STRENGTH, BadReference, ReferenceSet
from playground.runs import RunRefused
from playground.service import ComparisonRequest, GenerationRequest, RunService
from playground.store import RunFilter

SIZE_FIELDS = ("width", "height", "aspect_ratio", "resolution")


def _session(request: gr.Request | None) -> str:
    return (request.session_hash if request is not None else None) or "anonymous"


def _refusal(refused: RunRefused) -> gr.Error:
    """One clear message naming the field; a user error, so no traceback in the server log."""
    error = refused.error
    return gr.Error(error.message, title=error.title, print_exception=False)


def _file(path: str | None) -> FileData | None:
    return FileData(path=path) if path else None


def _file_dict(path: str | None) -> dict[str, Any] | None:
    return FileData(path=path).model_dump() if path else None


def _uploaded_path(value: Any, name: str) -> str:
    """The path of a file a script sent with ``handle_file``. Gradio checked that it is in its upload folder;
    checked again here, since these endpoints take raw payloads and a bare ``{"path": ...}`` is not checked."""
    path = value.get("path") if isinstance(value, dict) else getattr(value, "path", None)
    meta = value.get("meta") if isinstance(value, dict) else {"_type": "gradio.FileData"}
    if not isinstance(path, str) or not isinstance(meta, dict) or meta.get("_type") != "gradio.FileData" \
            or not is_in_or_equal(path, get_upload_folder()):
        raise gr.Error(f"{name} must be files sent with gradio_client's handle_file(\"picture.png\").",
                       title="Invalid request", print_exception=False)
    return path


def _references(pictures: Any, strength: Any, edit_image: Any, **named: Any) -> ReferenceSet | None:
    """The reference set an API call describes (None: none), or gr.Error naming what cannot be used."""
    if isinstance(pictures, dict):  # one file where a list was meant
        pictures = [pictures]
    paths = [_uploaded_path(p, "references") for p in (pictures or ()) if p]
    edit = _uploaded_path(edit_image, "edit_image") if edit_image else None
    if isinstance(named.get("styles"), str):
        named["styles"] = [s.strip() for s in named["styles"].split(",") if s.strip()]
    try:
        refs = ReferenceSet.of(paths, strength, edit, **named)
        refs.check()
    except BadReference as exc:
        raise gr.Error(str(exc), title="Invalid reference", print_exception=False) from None
    return None if refs.is_empty else refs


def model_info(model: Model) -> dict[str, Any]:
    """What a script needs to call a model: its id, size style, parameters with ranges, price and time."""
    return {
        "id": model.id, "name": model.name, "provider": model.provider, "description": model.description,
        "sizing": model.sizing, "previews": model.previews, "needs_image": model.needs_image,
        "expected_seconds": model.expected_seconds, "price_usd": model.price.usd, "price": model.price.label(),
        "params": [{"name": p.name, "type": p.type, "required": p.required, "default": p.default,
                    "minimum": p.minimum, "maximum": p.maximum, "multiple_of": p.multiple_of,
                    "choices": list(p.choices) if p.choices else None} for p in model.params],
    }


def register_api(service: RunService, concurrency_limit: int) -> None:
    """Add the documented endpoints to the Blocks being built."""

    async def generate(
        model: str,
        prompt: str,
        width: int | None = None,
        height: int | None = None,
        aspect_ratio: str | None = None,
        resolution: str | None = None,
        seed: int | None = None,
        params: dict[str, Any] | None = None,
        references: list[FileData] | None = None,
        reference_strength: float = DEFAULT_STRENGTH,
        edit_image: FileData | None = None,
        styles: list[str] | None = None,
        moodboard: str | None = None,
        moodboard_strength: float | None = None,
        request: gr.Request = None,
    ) -> tuple[FileData | None, dict[str, Any]]:
        """Generate one image and stream its progress; the last output is the final image and its run record.

        Args:
            model: a model id from /models, e.g. "bfl/flux-1-dev".
            prompt: what the image should show.
            width: pixels, for models sized by width and height (default: the model's).
            height: pixels, for models sized by width and height (default: the model's).
            aspect_ratio: e.g. "16:9", for models sized by aspect ratio (default: the model's).
            resolution: e.g. "1K", "2K", for models sized by aspect ratio (default: the model's).
            seed: reuse a seed (0 to 4294967295); omitted: a random one, returned in the record.
            params: any other parameter of the model under its Krea name, e.g. {"steps": 28}.
            references: pictures to follow, each `handle_file("style.png")` (JPEG, PNG or WebP): uploaded to
                the backend once per session and sent in the field the model takes (its record's notes say how).
            reference_strength: 0 (ignore them) to 1 (as much as the model allows), mapped to its range.
            edit_image: the picture to edit or start from, `handle_file(...)`, for editing models.
            styles: LoRA style ids from the backend's GET /styles, for models that take them.
            moodboard: a Krea moodboard id (Krea 2).
            moodboard_strength: 0 to 1 (omitted: the model's default).
        """
        extra = dict(params or {})
        refs = _references(references, reference_strength, edit_image, styles=styles, moodboard=moodboard,
                           moodboard_strength=moodboard_strength)
        sized = {k: v for k, v in zip(SIZE_FIELDS, (width, height, aspect_ratio, resolution)) if v is not None}
        run = GenerationRequest(model_id=model, prompt=prompt, params={**extra, **sized},
                                seed=seed if seed is not None else extra.get("seed"),
                                randomize_seed=seed is None and extra.get("seed") is None)
        session = _session(request)
        try:
            # A script that cancels its call (job.cancel(), a dropped connection) cancels its job at Krea.
            updates = await off_the_loop(service.start_generation, session, run,
                                         run_key=f"api-generate:{uuid.uuid4().hex}", cancel_if_abandoned=True,
                                         references=refs)
        except RunRefused as refused:
            raise _refusal(refused) from None
        async for update in updates:
            yield _file(update.picture), service.record(update, updates.notes).to_dict()

    async def compare(
        prompt: str,
        models: list[str],
        width: int = 1024,
        height: int = 1024,
        seed: int | None = None,
        steps: int | None = None,
        guidance: float | None = None,
        budget_usd: float | None = None,
        allow_unpriced: bool = False,
        references: list[FileData] | None = None,
        reference_strength: float = DEFAULT_STRENGTH,
        edit_image: FileData | None = None,
        request: gr.Request = None,
    ) -> tuple[list[FileData | None], list[dict[str, Any]]]:
        """Run one prompt on 2-8 models at once; the last output holds every final image and run record.

        Args:
            prompt: the prompt every model gets.
            models: 2 to 8 model ids from /models.
            width: shared size; each model gets the nearest it accepts (its record's notes say how).
            height: shared size (see width).
            seed: one seed for every model that takes one; omitted: a random one.
            steps: shared step count, clamped to each model's range; omitted: each model's default.
            guidance: shared guidance, clamped per model; omitted: each model's default.
            budget_usd: refuse to start if the estimated cost is above this, or cannot be bounded.
            allow_unpriced: with a budget, let models without a known USD price run anyway.
            references: pictures every model follows as it can, each `handle_file(...)`; each record's notes say
                whether its model used, mapped or ignored them.
            reference_strength: 0 to 1, mapped to each model's range.
            edit_image: a picture to edit, for the models that take one (the others ignore it, and say so).
        """
        refs = _references(references, reference_strength, edit_image)
        if isinstance(models, str):  # "a,b" from a shell or a form: a list of ids, not of characters
            models = [m.strip() for m in models.split(",") if m.strip()]
        run = ComparisonRequest(prompt=prompt, model_ids=tuple(models or ()), width=width, height=height, seed=seed,
                                randomize_seed=seed is None, steps=steps, guidance=guidance, budget_usd=budget_usd,
                                allow_unpriced=allow_unpriced)
        session = _session(request)
        prefix = f"api-compare:{uuid.uuid4().hex}:"
        try:
            plan, snapshots = await off_the_loop(service.start_comparison, session, run, key_prefix=prefix,
                                                 cancel_if_abandoned=True, references=refs)
        except RunRefused as refused:
            raise _refusal(refused) from None
        async for snapshot in snapshots:
            records = snapshot.records(list(plan.adapted), plan.group_id)
            # As dicts: Gradio copies files into its cache (the only place it serves them from, see
            # ui/private_files.py) by walking dicts and lists, and would not look inside a list of models.
            yield [_file_dict(r.image_path) for r in records], [r.to_dict() for r in records]

    def runs(
        search: str = "",
        model: str = "",
        status: str = "",
        since: str = "",
        limit: int = 100,
        request: gr.Request = None,
    ) -> list[dict[str, Any]]:
        """Your stored runs, newest first (the History tab's list): every record with its exact request, so any
        run can be reproduced. `status`: done, failed, cancelled or running; `since`: an ISO date or time."""
        if status and status not in ("done", "failed", "cancelled", "running"):
            raise gr.Error(f"status must be done, failed, cancelled or running (got {status[:20]!r}).",
                           title="Invalid request", print_exception=False)
        wanted = RunFilter(search=str(search or ""), model_id=str(model or "") or None, phase=status or None,
                           since=str(since or "") or None, limit=max(1, min(int(limit or 100), 1000)))
        return [{**s.record.to_dict(), "label": s.label, "has_image": bool(s.record.image_path)}
                for s in service.history(_session(request), wanted)]

    def list_models() -> list[dict[str, Any]]:
        """Every model this app can run from text: id, parameters with their ranges and defaults, price, time."""
        return [model_info(m) for m in service.text_models]

    gr.api(generate, api_name="generate", concurrency_limit=concurrency_limit, concurrency_id="api-generate")
    gr.api(compare, api_name="compare", concurrency_limit=concurrency_limit, concurrency_id="api-compare")
    gr.api(list_models, api_name="models", queue=False)
    gr.api(runs, api_name="runs", queue=False)
