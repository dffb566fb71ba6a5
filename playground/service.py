"""The run service: the one path by which every tab and the API start, stop and estimate runs.

It owns the rules: which model, which prompt, which numbers are acceptable (validated once, here, against the
catalog), the seed actually used, the 2-8 model rule, the budget refusal, the token check, where a session's
jobs go and how long they should take there. Callers read their form or their arguments into a request, call
``start_generation`` / ``start_comparison``, and render the updates. A request that may not run raises
:class:`RunRefused` before anything is sent.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from playground.catalog import (
    MAX_SEED,
    Catalog,
    Model,
    ValidationFailed,
    check_params,
    estimate_usd,
    example_params,
)
from playground.compare import (
    MAX_MODELS,
    MIN_MODELS,
    Adapted,
    CompareSnapshot,
    Preflight,
    SharedSettings,
    adapt,
    preflight,
    run_comparison,
)
from playground.generate import look_up_submitted, resume_generation, run_generation
from playground.journal import Journal, RunOrigin, Watch, journaled
from playground.asset_cache import AssetCache, CachedAsset
from playground.reference_mapping import apply_references, missing_inputs, missing_message
from playground.references import BadReference, ReferenceSet
from playground.style_list import StyleCache, style_fits
from playground.krea.assets import Style
from playground.krea.client import KreaClient
from playground.krea.errors import ErrorKind, KreaError
from playground.krea.jobs import JobStatus, parse_timestamp
from playground.runs import Phase, RunError, RunRecord, RunRefused, RunTimings, RunUpdate
from playground.sessions import Backend, Route, SessionRegistry
from playground.store import RunFilter, RunStore, StoredGroup, StoredRun, TokenSource

log = logging.getLogger(__name__)

GENERATE_KEY = "generate"
COMPARE_PREFIX = "compare:"

NO_TOKEN = RunError(ErrorKind.UNAUTHORIZED, "No Krea API token for this session. Paste yours under “Your Krea API "
                                            "token” above (it stays in this server's memory for this tab only), "
                                            "then try again.")


def tile_key(prefix: str, index: int) -> str:
    return f"{prefix}{index}:"


@dataclass(frozen=True)
class GenerationRequest:
    """One image: a model, a prompt, the model's own parameters (Krea's names) and the seed choice."""

    model_id: str
    prompt: str
    params: Mapping[str, Any] = field(default_factory=dict)  # empty values mean "the model's default"
    seed: Any = None  # a number to reuse; None draws one
    randomize_seed: bool = False


@dataclass(frozen=True)
class ComparisonRequest:
    """One prompt for several models, with shared settings that each model gets in its own schema."""

    prompt: str
    model_ids: tuple[str, ...]
    width: Any = 1024
    height: Any = 1024
    seed: Any = None
    randomize_seed: bool = False
    steps: Any = None  # None: each model's default
    guidance: Any = None
    budget_usd: Any = None  # None: no cap
    allow_unpriced: bool = False  # with a cap, let models without a USD price run anyway


@dataclass(frozen=True)
class ComparisonPlan:
    adapted: tuple[Adapted, ...]
    preflight: Preflight
    seed: int | None
    group_id: str
    shared: SharedSettings | None = None  # what every model was adapted from (None for a re-run)
    references: ReferenceSet | None = None  # the pictures chosen for every model
    asset_urls: Mapping[str, str] | None = None  # their uploaded URLs by sha256 (None: not uploaded yet)


@dataclass(frozen=True)
class GenerationPlan:
    """What one Generate run will send, before anything is sent: the body (reference pictures as placeholder
    URLs until they are uploaded), what was done with the pictures, and the estimated price."""

    model: Model
    body: dict[str, Any]
    notes: tuple[str, ...] = ()
    estimate_usd: float | None = None


# --- reading numbers -------------------------------------------------------------------------------------------

def _shown(number: float) -> str:
    """4294967295, not 4.29497e+09: people compare these digits with the range."""
    return str(int(number)) if float(number).is_integer() and abs(number) < 1e21 else f"{number:g}"


def read_number(value: Any, field_name: str, label: str, *, integer: bool = False,
                minimum: float | None = None, maximum: float | None = None) -> float | int | None:
    """A number from a form or an API argument: None/"" mean "not set"; anything else must be a finite number
    in range, or the run is refused with one message naming the field."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number: float
    if isinstance(value, bool):
        raise RunRefused.invalid(field_name, f"{label} must be a number (got {value!r}).")
    if isinstance(value, (int, float)):
        number = value
    else:
        try:
            number = float(str(value).strip().lstrip("$"))
        except ValueError:
            raise RunRefused.invalid(field_name, f"{label} must be a number (got {str(value)[:40]!r}).") from None
    if not math.isfinite(number):
        raise RunRefused.invalid(field_name, f"{label} must be a finite number (got {value!r}).")
    if integer and not float(number).is_integer():
        raise RunRefused.invalid(field_name, f"{label} must be a whole number (got {value!r}).")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        if minimum is not None and maximum is not None:
            allowed = f"between {_shown(minimum)} and {_shown(maximum)}"
        else:
            allowed = f"at least {_shown(minimum)}" if minimum is not None else f"at most {_shown(maximum)}"
        raise RunRefused.invalid(field_name, f"{label} must be {allowed} (got {_shown(number)}).")
    return int(number) if integer else float(number)


def check_text(value: Any, field_name: str, label: str) -> str:
    """Text that can be sent as JSON: a string without lone surrogates (which no API can encode)."""
    text = "" if value is None else str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise RunRefused.invalid(field_name, f"{label} contains characters that cannot be sent (a broken emoji "
                                             "or symbol?). Retype that part and try again.") from None
    return text


def _normalized(model: Model, params: Mapping[str, Any]) -> dict[str, Any]:
    """Empty values dropped, whole floats sent as integers where the model wants integers, numeric strings read
    as numbers, and required fields the caller left out filled with the model's default."""
    body: dict[str, Any] = {}
    for name, value in params.items():
        if value is None or (isinstance(value, str) and value == ""):
            continue
        param = model.param(name)
        if param is not None and param.type in ("integer", "number") and isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                pass  # left as text: the catalog's check names the field and what it must be
        if param is not None and param.is_integer and isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str):
            value = check_text(value, name, name)
        body[name] = value
    example = example_params(model)  # the default, else a sensible in-range value (1024 px, 1:1, 1K)
    for param in model.params:
        if param.required and param.name not in body and param.name in example:
            body[param.name] = example[param.name]
    return body


def _update_of(stored: StoredRun) -> RunUpdate:
    """A stored run as the last update it had: where a resumed run goes on from."""
    r = stored.record
    return RunUpdate(model_id=r.model_id, phase=r.phase, label=stored.label, run_id=r.run_id,
                     started_at=r.started_at, backend=r.backend, status=r.status, job_id=r.job_id, seed=r.seed,
                     timings=RunTimings(elapsed=r.total_s or 0.0, queue=r.queue_s, run=r.run_s),
                     image_path=r.image_path, image_size=r.image_size, error=r.error, params=dict(r.params))


class RunService:
    """Starts, stops, journals and resumes runs for sessions. One per app."""

    def __init__(self, catalog: Catalog, backend: Backend, sessions: SessionRegistry, output_dir: Path,
                 store: RunStore, *, hosted: bool = False, session_run_limit: int = 16,
                 spend_cap_usd: float | None = None) -> None:
        self.catalog = catalog
        self.backend = backend
        self.sessions = sessions
        self.output_dir = Path(output_dir)
        self.store = store
        self.hosted = hosted
        self.session_run_limit = session_run_limit
        self.spend_cap_usd = spend_cap_usd  # per UTC day, over every run on the owner's (env) token
        self._lock = threading.Lock()
        self._live: dict[str, threading.Event] = {}  # run id -> stop switch, for every run followed right now
        self._env_client: KreaClient | None = None
        self.assets = AssetCache()  # reference pictures uploaded per session, each distinct file once
        self.styles = StyleCache()  # GET /styles per backend and token, for a few minutes

    # --- models and estimates ----------------------------------------------------------------------------------

    def model(self, model_id: Any) -> Model:
        model = self.catalog.find(str(model_id or "").strip())
        if model is None:
            raise RunRefused.invalid("model", f"Unknown model {str(model_id)[:60]!r}. The /models endpoint (or "
                                              "the Model menu) lists every model id.")
        return model  # a model that needs an input image is refused later, only if none is given

    @property
    def text_models(self) -> list[Model]:
        return [m for m in self.catalog.models if not m.needs_image]

    def time_scale(self, session_id: str) -> tuple[float, float]:
        """(factor, floor) turning a model's typical seconds into what this session's backend will take."""
        route = self.sessions.route(session_id)
        sandbox = self.backend.sandbox
        if route.is_sandbox and sandbox is not None:
            return sandbox.settings.speed, sandbox.settings.min_job_seconds
        return 1.0, 0.0

    def expected_seconds(self, session_id: str, model: Model) -> float:
        factor, floor = self.time_scale(session_id)
        return max(model.expected_seconds * factor, floor)

    def record(self, update: RunUpdate, notes: tuple[str, ...] = (), group_id: str | None = None) -> RunRecord:
        return RunRecord.from_update(update, self.catalog.get(update.model_id), notes=notes, group_id=group_id)

    # --- seeds ---------------------------------------------------------------------------------------------------

    @staticmethod
    def choose_seed(seed: Any, randomize: bool) -> int:
        """The seed a run will use: a fresh random one, or the caller's, checked against the allowed range."""
        if randomize or seed is None or (isinstance(seed, str) and not seed.strip()):
            return random.randint(0, MAX_SEED)
        return int(read_number(seed, "seed", "seed", integer=True, minimum=0, maximum=MAX_SEED))

    # --- generate ------------------------------------------------------------------------------------------------

    def prepare_generation(self, request: GenerationRequest,
                           references: ReferenceSet | None = None) -> tuple[Model, dict[str, Any]]:
        """The model and the exact body to send, or RunRefused naming the field. With `references`, their URLs
        are placeholders (nothing is uploaded here): see plan_generation."""
        plan = self.plan_generation(request, references)
        return plan.model, plan.body

    def plan_generation(self, request: GenerationRequest, references: ReferenceSet | None = None) -> GenerationPlan:
        """The body, the notes on the reference pictures and the price, or RunRefused naming the field. Nothing
        is uploaded or sent: the form can call it as it changes (a seed is drawn only when asked for)."""
        refs = self._checked_references(references)
        model, base = self._generation_base(request)
        body, notes = self._with_references(model, base, refs, None)
        return GenerationPlan(model, body, notes, estimate_usd(model, body))

    def _generation_base(self, request: GenerationRequest) -> tuple[Model, dict[str, Any]]:
        """The body before reference pictures: prompt, the model's parameters, defaults, the seed (drawn once)."""
        model = self.model(request.model_id)
        prompt = check_text(request.prompt, "prompt", "The prompt")
        if not prompt.strip():
            raise RunRefused.invalid("prompt", "Type a prompt first: describe the image you want.")
        params = {k: v for k, v in dict(request.params or {}).items() if k not in ("prompt", "seed")}
        body = _normalized(model, {"prompt": prompt, **params})
        if model.param("seed") is not None:
            body["seed"] = self.choose_seed(request.seed, request.randomize_seed)
        return model, body

    # --- reference pictures --------------------------------------------------------------------------------

    @staticmethod
    def _checked_references(references: ReferenceSet | None) -> ReferenceSet | None:
        if references is None or references.is_empty:
            return None
        try:
            references.check()
        except BadReference as exc:
            raise RunRefused.invalid(exc.field, str(exc)) from None
        return references

    @staticmethod
    def _refusal(model: Model, exc: ValidationFailed, prefix: str = "") -> RunRefused:
        """A catalog refusal naming the field; inside an image input, the exact value (style_images.0.strength),
        since no form field of that name exists."""
        first = exc.errors[0] if exc.errors else None
        field_name = exc.field
        if first is not None and first.path and model.image_input(first.field) is not None:
            field_name = first.path
        return RunRefused.invalid(field_name, f"{prefix}{exc}")

    def check_body(self, model: Model, body: Mapping[str, Any], *, comparing: bool = False) -> None:
        """Required pictures present, then the catalog's check once; RunRefused naming the field."""
        for item in missing_inputs(model, body):
            raise RunRefused.invalid(item.field, missing_message(model, item, comparing=comparing))
        try:
            check_params(model, body)
        except ValidationFailed as exc:
            raise self._refusal(model, exc, f"{model.name}: " if comparing else "") from None

    def _with_references(self, model: Model, base: Mapping[str, Any], refs: ReferenceSet | None,
                         asset_urls: Mapping[str, str] | None) -> tuple[dict[str, Any], tuple[str, ...]]:
        try:
            body, notes = apply_references(model, base, refs, asset_urls)
        except BadReference as exc:
            raise RunRefused.invalid(exc.field, str(exc)) from None
        self.check_body(model, body)
        return body, notes

    def reference_notes(self, model_id: str, references: ReferenceSet | None) -> tuple[str, ...]:
        """What `model_id` would do with these pictures (notes as the tiles show them); no upload, no checks of
        the rest of the form. Unknown models: no notes."""
        model = self.catalog.find(str(model_id or "").strip())
        if model is None or references is None or references.is_empty:
            return ()
        return apply_references(model, {}, references, None)[1]

    def upload_references(self, session_id: str, references: ReferenceSet | None) -> dict[str, str]:
        """Upload the set's pictures through this session's client, each distinct file once per session
        (cached): sha256 -> URL. RunRefused (field "references") naming a picture that could not be uploaded."""
        refs = self._checked_references(references)
        if refs is None:
            return {}
        client = self.sessions.route(session_id).client
        urls: dict[str, str] = {}
        for ref in refs.pictures:
            try:
                urls[ref.sha256] = self.assets.upload(session_id, client, ref).url
            except BadReference as exc:
                raise RunRefused.invalid(exc.field, str(exc)) from None
            except ValueError as exc:  # the client's own refusal (empty, over 75 MB): nothing was sent
                raise RunRefused.invalid("references", f"{ref.name} was not uploaded: {exc}.") from None
            except KreaError as exc:
                raise RunRefused(RunError(exc.kind, f"{ref.name} could not be uploaded, so nothing was generated: "
                                                    f"{exc.user_message}", field="references")) from None
        return urls

    def uploaded_references(self, session_id: str) -> list[CachedAsset]:
        """This session's uploaded pictures, most recently used first (no network call)."""
        return self.assets.assets(session_id, self.sessions.route(session_id).client)

    def remove_reference(self, session_id: str, asset_id: str) -> bool:
        """Delete one of this session's uploads at the backend (DELETE /assets/{id}) and forget it. False if
        this session has no such upload; a KreaError (with its user_message) if the backend refused."""
        return self.assets.remove(session_id, self.sessions.route(session_id).client, str(asset_id or ""))

    def forget_references(self, session_id: str) -> None:
        """The tab closed: forget its uploads here (they stay at the backend, where History may point)."""
        self.assets.forget(session_id)

    def list_styles(self, session_id: str, model_id: str | None = None, *, refresh: bool = False) -> list[Style]:
        """The LoRA styles this session's backend offers (``GET /styles`` through its own client, newest first,
        at most 500), kept for a few minutes per (API base, whose token); ``refresh`` asks again now. With
        `model_id`: only the styles that model can take (``style_list.style_fits``): none for a model without
        a ``styles`` field (no call is made), else those listing it or listing no models. Choose one with
        ``StyleChoice.of(style, strength)`` into ``ReferenceSet(styles=...)``.

        RunRefused, with ``error.field == "styles"`` and a sentence to show, when the session has no token or
        the backend refused or could not be reached (nothing is cached then: the next call asks again);
        RunRefused naming "model" for an unknown model id."""
        model = self.model(model_id) if model_id not in (None, "") else None
        if not self.sessions.has_token(session_id):
            raise RunRefused(dataclasses.replace(NO_TOKEN, field="styles"))
        if model is not None and not any(i.kind == "lora_style" for i in model.image_inputs):
            return []
        route = self.sessions.route(session_id)
        # The sandbox's styles and the app token's are the same for every session; a pasted token's are its own.
        shared = route.token_source in (TokenSource.SANDBOX, TokenSource.ENV)
        try:
            styles = self.styles.styles(route.client, shared=shared, refresh=refresh)
        except KreaError as exc:
            raise RunRefused(RunError(exc.kind, f"The LoRA styles could not be listed: {exc.user_message}",
                                      field="styles")) from None
        return [s for s in styles if model is None or style_fits(s, model)]

    def shared_spend_today(self) -> float:
        today = datetime.now(timezone.utc).date().isoformat()
        return self.store.spent(TokenSource.ENV, today)

    def _check_spend_cap(self, route: Route, estimate_usd: float) -> None:
        """Runs on the owner's token stop at the app's daily cap; a visitor's own token is theirs to spend."""
        if self.spend_cap_usd is None or route.token_source != TokenSource.ENV:
            return
        spent = self.shared_spend_today()
        if spent + estimate_usd > self.spend_cap_usd:
            raise RunRefused(RunError(
                ErrorKind.BUDGET, f"Not started: this app's shared budget of ${self.spend_cap_usd:.2f} a day is "
                                  f"used up (${spent:.2f} spent today, this run ~${estimate_usd:.3f}). Paste "
                                  "your own Krea API token to go on, or come back tomorrow (UTC).", field="budget"))

    def _route(self, session_id: str, new_runs: int = 1, estimate_usd: float = 0.0) -> Route:
        if not self.sessions.has_token(session_id):
            raise RunRefused(NO_TOKEN)
        # Fairness: one tab or script cannot take every slot another visitor needs.
        going = self.sessions.active_runs(session_id)
        if going + new_runs > self.session_run_limit:
            raise RunRefused(RunError(
                ErrorKind.RATE_LIMITED, f"You already have {going} runs going (at most {self.session_run_limit} at "
                                        "once per tab or script). Wait for one to finish, or stop one, then try "
                                        "again."))
        route = self.sessions.route(session_id)
        self._check_spend_cap(route, estimate_usd)
        return route

    def start_generation(self, session_id: str, request: GenerationRequest, *, run_key: str = GENERATE_KEY,
                         cancel_if_abandoned: bool = False, references: ReferenceSet | None = None) -> Watch:
        """Check the request (RunRefused at once) and return the run to watch (``for`` or ``async for``). The run
        starts when watching starts; a new run under the same `run_key` stops the previous one (one Generate per
        tab). If the watcher leaves early the run goes on into History, or is cancelled (DELETE) when
        `cancel_if_abandoned` (a script that cancels its call).

        `references`: pictures to follow and/or edit. Everything is checked with placeholders first, so a refused
        run uploads nothing; then they are uploaded (once per file per session) and the body sent, journaled and
        shown in History carries their URLs. The notes (``plan_generation``) are kept with the run."""
        refs = self._checked_references(references)
        model, base = self._generation_base(request)
        body, notes = self._with_references(model, base, refs, None)
        route = self._route(session_id, estimate_usd=estimate_usd(model, body) or 0.0)
        if refs is not None:
            body, notes = self._with_references(model, base, refs, self.upload_references(session_id, refs))

        def begin():
            # The stop switch is taken when watching starts, so a run never watched holds none; it is released
            # when the run ends, which may be after the watcher left.
            stop = self.sessions.begin_run(session_id, run_key)
            journal = self._journal(self._origin(session_id, route, notes=notes), stop)
            stream = run_generation(route.client, model, body, output_dir=self.output_dir,
                                    backend=route.backend_name, poll=route.settings.poll, stop=stop,
                                    is_known=self.store.knows_job)

            def ended() -> None:
                self.sessions.end_run(session_id, run_key, stop)
                self._forget(journal.run_id)

            return journaled(stream, journal), ended, (stop.set if cancel_if_abandoned else None)

        return Watch(begin, name=model.id, notes=notes)

    # --- the journal -----------------------------------------------------------------------------------------

    def _origin(self, session_id: str, route: Route, group_id: str | None = None,
                notes: tuple[str, ...] = ()) -> RunOrigin:
        source = route.token_source if route.token_source in tuple(TokenSource) else TokenSource.USER
        return RunOrigin(owner=lambda: self.sessions.owner(session_id), token_source=TokenSource(source),
                         api_base=route.settings.base_url, group_id=group_id, notes=notes)

    def _journal(self, origin: RunOrigin, stop: threading.Event) -> Journal:
        def live(run_id: str) -> None:
            with self._lock:
                self._live[run_id] = stop

        return Journal(self.store, self.catalog, origin, on_first=live)

    def _forget(self, run_id: str | None) -> None:
        with self._lock:
            self._live.pop(run_id or "", None)

    def is_live(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._live

    # --- batches (grids, arena rounds) ---------------------------------------------------------------------

    def batch_route(self, session_id: str, concurrency: int, estimate_usd: float) -> Route:
        """The route a batch's jobs take (captured once: a grid goes on after its page closed), or RunRefused (no
        token, the session's run limit, the day's spend cap)."""
        return self._route(session_id, concurrency, estimate_usd)

    def run_cell(self, grid, model: Model, body: dict[str, Any], *, run_key: str,
                 notes: tuple[str, ...] = ()) -> Iterator[RunUpdate]:
        """One prepared request (a grid cell: already adapted and checked) run to its end, journaled under the
        batch's group and owner. `grid` is a ``grid_runner.GridHandle``. Stopped by ``stop(session, run_key)``."""
        self.check_body(model, body, comparing=True)
        stop = self.sessions.begin_run(grid.session_id, run_key)
        route = grid.route
        source = route.token_source if route.token_source in tuple(TokenSource) else TokenSource.USER
        origin = RunOrigin(owner=grid.owner, token_source=TokenSource(source), api_base=route.settings.base_url,
                           group_id=grid.grid_id, notes=notes)
        journal = self._journal(origin, stop)
        try:
            yield from journaled(run_generation(route.client, model, body, output_dir=self.output_dir,
                                                backend=route.backend_name, poll=route.settings.poll, stop=stop,
                                                is_known=self.store.knows_job), journal)
        finally:
            self.sessions.end_run(grid.session_id, run_key, stop)
            self._forget(journal.run_id)

    # --- compare ---------------------------------------------------------------------------------------------

    def plan_comparison(self, session_id: str, request: ComparisonRequest,
                        references: ReferenceSet | None = None) -> ComparisonPlan:
        """Adapted requests, cost and time for a comparison, or RunRefused (count, prompt, numbers, a model that
        needs an input image without one). `references` go to each model in its own fields, with a note on each
        tile; nothing is uploaded here (placeholder URLs), so the form can call it as it changes."""
        refs = self._checked_references(references)
        ids = list(dict.fromkeys(str(i) for i in (request.model_ids or ())))  # each model once, in order
        if not MIN_MODELS <= len(ids) <= MAX_MODELS:
            raise RunRefused.invalid("models", f"Choose {MIN_MODELS} to {MAX_MODELS} models to compare "
                                               f"({len(ids)} chosen).")
        models = [self.model(i) for i in ids]
        prompt = check_text(request.prompt, "prompt", "The prompt")
        if not prompt.strip():
            raise RunRefused.invalid("prompt", "Type a prompt first: every model gets the same one.")
        shared = SharedSettings(
            prompt=prompt,
            width=int(read_number(request.width, "width", "Width", integer=True, minimum=64, maximum=16384) or 1024),
            height=int(read_number(request.height, "height", "Height", integer=True, minimum=64, maximum=16384)
                       or 1024),
            seed=self.choose_seed(request.seed, request.randomize_seed),
            steps=read_number(request.steps, "steps", "Steps", integer=True, minimum=1),
            guidance=read_number(request.guidance, "guidance", "Guidance", minimum=0),
        )
        cap = read_number(request.budget_usd, "budget", "Budget cap", minimum=0)
        adapted = self._adapted(models, shared, refs, None)
        factor, floor = self.time_scale(session_id)
        plan = priced_preflight(list(adapted), cap, factor, floor)
        return ComparisonPlan(adapted, plan, shared.seed, uuid.uuid4().hex, shared, refs)

    def _adapted(self, models: Iterable[Model], shared: SharedSettings, refs: ReferenceSet | None,
                 asset_urls: Mapping[str, str] | None) -> tuple[Adapted, ...]:
        try:
            adapted = tuple(adapt(m, shared, refs, asset_urls) for m in models)
        except BadReference as exc:
            raise RunRefused.invalid(exc.field, str(exc)) from None
        for item in adapted:  # adapt() keeps values in range; this guards against a catalog gap
            self.check_body(item.model, item.params, comparing=True)
        return adapted

    def _uploaded(self, session_id: str, plan: ComparisonPlan) -> ComparisonPlan:
        """The plan with the reference pictures uploaded and their URLs in every body (same seed, same group)."""
        if plan.references is None or plan.shared is None:
            return plan
        urls = self.upload_references(session_id, plan.references)
        adapted = self._adapted([a.model for a in plan.adapted], plan.shared, plan.references, urls)
        return dataclasses.replace(plan, adapted=adapted, asset_urls=urls)

    @staticmethod
    def check_budget(plan: ComparisonPlan, allow_unpriced: bool) -> None:
        """Refuse a comparison whose cost is over the cap, or cannot be bounded (unless unpriced are allowed)."""
        p = plan.preflight
        if p.unbounded and not allow_unpriced:
            raise RunRefused(RunError(
                ErrorKind.BUDGET, f"Not started: with a ${p.budget_usd:.2f} cap the cost must be known, but "
                                  f"{', '.join(p.unpriced)} {'has' if len(p.unpriced) == 1 else 'have'} no known "
                                  "price. Remove them, or allow unpriced models.", field="budget"))
        if p.over_budget:
            raise RunRefused(RunError(
                ErrorKind.BUDGET, f"Not started: estimated ${p.cost_usd:.3f} is over your budget cap of "
                                  f"${p.budget_usd:.2f}. Raise the cap or choose fewer or cheaper models.",
                field="budget"))

    def start_comparison(self, session_id: str, request: ComparisonRequest, *, key_prefix: str = COMPARE_PREFIX,
                         cancel_if_abandoned: bool = False,
                         references: ReferenceSet | None = None) -> tuple[ComparisonPlan, Watch]:
        """Check, plan and return a comparison: its plan (RunRefused at once) and the snapshots to watch (``for``
        or ``async for``), which start the jobs when watching starts. Tile i stops with
        ``stop(session_id, tile_key(key_prefix, i))``; all of them with ``stop(session_id, key_prefix)``. A
        watcher that leaves early leaves the tiles running into History, or stops them all when
        `cancel_if_abandoned`. `references` (one set for every model) are uploaded once, after every check
        passed; each tile's notes say what its model was sent."""
        plan = self.plan_comparison(session_id, request, references)
        self.check_budget(plan, request.allow_unpriced)
        route = self._route(session_id, len(plan.adapted), plan.preflight.cost_usd or 0.0)
        plan = self._uploaded(session_id, plan)
        return plan, self._watched(session_id, key_prefix, cancel_if_abandoned,
                                   lambda: self._comparison(session_id, key_prefix, route, plan, request))

    def _watched(self, session_id: str, key_prefix: str, cancel_if_abandoned: bool,
                 snapshots: Callable[[], Iterator[CompareSnapshot]]) -> Watch:
        """A comparison's snapshots, merged in their own thread, watched without holding a worker thread."""
        def begin():
            abandon = (lambda: self.stop(session_id, key_prefix)) if cancel_if_abandoned else None
            return snapshots(), (lambda: None), abandon

        return Watch(begin, name=f"compare-{key_prefix}")

    def _comparison(self, session_id: str, key_prefix: str, route: Route, plan: ComparisonPlan,
                    request: ComparisonRequest | None) -> Iterator[CompareSnapshot]:
        keys = [tile_key(key_prefix, i) for i in range(len(plan.adapted))]
        stops = [self.sessions.begin_run(session_id, key) for key in keys]
        by_model = {a.model.id: (key, stop) for a, key, stop in zip(plan.adapted, keys, stops)}
        settings = comparison_settings(request, plan) if request is not None else {}
        self.store.save_group(plan.group_id, owner=self.sessions.owner(session_id),
                              prompt=str(plan.adapted[0].params.get("prompt", "")), settings=settings)

        def tile(item: Adapted, stop: threading.Event) -> Iterator[RunUpdate]:
            # Runs in the tile's own thread: each update is on disk before that tile polls again.
            journal = self._journal(self._origin(session_id, route, plan.group_id, item.notes), stop)
            key = by_model[item.model.id][0]
            try:
                yield from journaled(run_generation(route.client, item.model, item.params,
                                                    output_dir=self.output_dir, backend=route.backend_name,
                                                    poll=route.settings.poll, stop=stop,
                                                    is_known=self.store.knows_job), journal)
            finally:
                self.sessions.end_run(session_id, key, stop)
                self._forget(journal.run_id)

        # The tiles go on if the page stops watching: their images land in History. Stop ends them.
        yield from run_comparison(route.client, list(plan.adapted), output_dir=self.output_dir,
                                  backend=route.backend_name, poll=route.settings.poll,
                                  stops={a.model.id: stop for a, stop in zip(plan.adapted, stops)},
                                  tile_stream=tile, stop_on_abandon=False)

    def start_rerun(self, session_id: str, items: Iterable[tuple[str, Mapping[str, Any]]], *,
                    key_prefix: str = COMPARE_PREFIX) -> tuple[ComparisonPlan, Watch]:
        """Send saved requests again exactly as they were (a comparison bundle, a History group): each
        ``(model id, body)`` to its model, all at once, journaled as a new comparison (fresh group id). Returns the
        plan (RunRefused at once: unknown and retired models named, a body the catalog refuses) and the stream of
        snapshots, which starts the jobs when first read; stopping works as for ``start_comparison``. No budget
        cap: the caller shows the cost (``plan.preflight``) before anyone presses the button."""
        plan = self.plan_rerun(session_id, items)
        route = self._route(session_id, len(plan.adapted), plan.preflight.cost_usd or 0.0)
        return plan, self._watched(session_id, key_prefix, False,
                                   lambda: self._rerun(session_id, key_prefix, route, plan))

    def plan_rerun(self, session_id: str, items: Iterable[tuple[str, Mapping[str, Any]]]) -> ComparisonPlan:
        """The plan of a re-run: every model known and current, every body valid for it, each model once."""
        pairs = [(str(model_id or "").strip(), body) for model_id, body in (items or ())]
        if not 1 <= len(pairs) <= MAX_MODELS:
            raise RunRefused.invalid("models", f"A re-run sends 1 to {MAX_MODELS} saved requests "
                                               f"({len(pairs)} given).")
        retired = [self.catalog.retired[m] for m, _ in pairs if self.catalog.find(m) is None
                   and m in self.catalog.retired]
        unknown = [m for m, _ in pairs if self.catalog.find(m) is None and m not in self.catalog.retired]
        if retired or unknown:
            parts = [f"{r.name or r.id} ({r.id}) was retired on {r.sunset_date}"
                     + (f"; its replacement is {r.replacement}" if r.replacement else "") for r in retired]
            if unknown:
                parts.append(f"{', '.join(repr(m[:60]) for m in unknown)} "
                             f"{'is not a model' if len(unknown) == 1 else 'are not models'} this playground knows")
            raise RunRefused(RunError(
                ErrorKind.RETIRED if retired else ErrorKind.INVALID,
                "Not re-run: " + "; ".join(parts) + ". Nothing was sent.", field="models",
                replacement=retired[0].replacement if len(retired) == 1 and not unknown else None))
        adapted: list[Adapted] = []
        for model_id, body in pairs:
            model = self.model(model_id)
            if any(a.model.id == model.id for a in adapted):
                raise RunRefused.invalid("models", f"{model.name} appears twice: a re-run sends each model once.")
            if not isinstance(body, Mapping):
                raise RunRefused.invalid("body", f"{model.name}: the saved request has no body to send.")
            params = dict(body)
            check_text(params.get("prompt"), "prompt", f"{model.name}: the prompt")
            self.check_body(model, params, comparing=True)  # the catalog changed since, or the file was edited
            adapted.append(Adapted(model=model, params=params))
        seeds = [a.params["seed"] for a in adapted if isinstance(a.params.get("seed"), int)]
        factor, floor = self.time_scale(session_id)
        return ComparisonPlan(tuple(adapted), priced_preflight(adapted, None, factor, floor),
                              seeds[0] if seeds else None, uuid.uuid4().hex)

    def _rerun(self, session_id: str, key_prefix: str, route: Route,
               plan: ComparisonPlan) -> Iterator[CompareSnapshot]:
        # Saved first, so the group keeps these settings (_comparison's own save of a request-less group is ignored).
        self.store.save_group(plan.group_id, owner=self.sessions.owner(session_id),
                              prompt=str(plan.adapted[0].params.get("prompt", "")),
                              settings=self.rerun_settings(plan))
        yield from self._comparison(session_id, key_prefix, route, plan, None)

    @staticmethod
    def rerun_settings(plan: ComparisonPlan) -> dict[str, Any]:
        """A re-run's group settings in comparison_settings' shape, read from the bodies sent again."""
        sized = next((a.params for a in plan.adapted if "width" in a.params and "height" in a.params), {})
        return {"prompt": str(plan.adapted[0].params.get("prompt", "")),
                "model_ids": [a.model.id for a in plan.adapted], "width": sized.get("width"),
                "height": sized.get("height"), "seed": plan.seed, "steps": None, "guidance": None, "rerun": True}

    # --- stopping ----------------------------------------------------------------------------------------------

    def stop(self, session_id: str, key_prefix: str) -> int:
        """Stop this session's runs whose key starts with `key_prefix`; how many were told."""
        return self.sessions.stop_runs(session_id, key_prefix)

    def stop_run(self, session_id: str, run_id: str) -> bool:
        """Stop one run by id (History's Stop), if this session may see it and it is being followed."""
        if self.visible_run(session_id, run_id) is None:
            return False
        with self._lock:
            stop = self._live.get(run_id)
        if stop is not None:
            stop.set()
        return stop is not None

    # --- history -----------------------------------------------------------------------------------------------

    def claim_owner(self, session_id: str, owner: str) -> None:
        """Tie a page's session to its browser id; runs it started before (a click faster than the page's load
        event) move to that id too. Then resume that browser's own unfinished runs."""
        before = self.sessions.owner(session_id)
        self.sessions.set_owner(session_id, owner)
        if before != owner:
            self.store.reassign_owner(before, owner)
        self.resume_unfinished(session_id)

    def history_owner(self, session_id: str) -> str | None:
        """Whose runs this session sees: its own when the app is hosted, everyone's (None) on the owner's machine."""
        return self.sessions.owner(session_id) if self.hosted else None

    def _named(self, stored: StoredRun) -> StoredRun:
        """The store keeps model ids; records shown to people carry the catalog's model names."""
        model = self.catalog.find(stored.record.model_id)
        if model is None or stored.record.model_name == model.name:
            return stored
        return dataclasses.replace(stored, record=dataclasses.replace(stored.record, model_name=model.name))

    def history(self, session_id: str, wanted: RunFilter | None = None) -> list[StoredRun]:
        wanted = wanted or RunFilter()
        runs = self.store.query(RunFilter(**{**asdict(wanted), "owner": self.history_owner(session_id)}))
        return [self._named(r) for r in runs]

    def visible_run(self, session_id: str, run_id: str) -> StoredRun | None:
        stored = self.store.get(str(run_id or ""))
        owner = self.history_owner(session_id)
        return self._named(stored) if stored is not None and (owner is None or stored.owner == owner) else None

    def visible_group(self, session_id: str, group_id: str) -> tuple[StoredGroup | None, list[StoredRun]]:
        group, runs = self.store.group(str(group_id or ""))
        owner = self.history_owner(session_id)
        if owner is not None:
            runs = [r for r in runs if r.owner == owner]
            group = group if group is not None and group.owner == owner else None
        return group, [self._named(r) for r in runs]

    def totals(self, session_id: str, since: str | None) -> tuple[int, float]:
        return self.store.totals(self.history_owner(session_id), since)

    def session_totals(self, session_id: str, since: str) -> tuple[int, float]:
        """This browser's own runs since `since` (when the page was opened)."""
        return self.store.totals(self.sessions.owner(session_id), since)

    def delete_runs(self, session_id: str, run_ids: Iterable[str]) -> int:
        """Delete finished runs this session may see, and their image files. Unfinished runs are kept."""
        gone = self.store.delete(run_ids, self.history_owner(session_id))
        root = self.output_dir.resolve()
        for stored in gone:
            path = stored.record.image_path
            if not path:
                continue
            file = Path(path).resolve()
            if file.is_relative_to(root):  # never delete outside the output folder, whatever the row says
                file.unlink(missing_ok=True)
        return len(gone)

    # --- resuming ----------------------------------------------------------------------------------------------

    def _client_for(self, stored: StoredRun, session_id: str | None) -> tuple[KreaClient | None, str]:
        """A client holding the kind of token that made this job, or None and the reason it must wait."""
        if stored.token_source == TokenSource.ENV:
            if self.backend.shared_token and stored.api_base == self.backend.base_url:
                with self._lock:
                    if self._env_client is None:
                        self._env_client = KreaClient(self.backend.shared_token, self.backend.client_settings)
                    return self._env_client, ""
            return None, (f"Waiting to be followed again: start the app with the same KREA_API_TOKEN and API base "
                          f"({stored.api_base}).")
        if stored.token_source == TokenSource.USER and session_id is not None:
            route = self.sessions.route(session_id)
            if (route.token_source == TokenSource.USER and route.settings.base_url == stored.api_base
                    and self.sessions.owner(session_id) == stored.owner):
                return route.client, ""
        if stored.token_source == TokenSource.USER:
            return None, "Waiting to be followed again: paste the Krea API token this run was made with."
        return None, "sandbox"

    def resume_unfinished(self, session_id: str | None = None) -> int:
        """Follow again every unfinished run that no thread follows (after a restart): with its job id, the job
        is polled to the end and its image saved; without one, the submit is looked up, never sent again. A
        session (a page that just loaded, a token just pasted) also resumes its own runs made with a pasted
        token. Returns how many runs are being followed again."""
        resumed = 0
        owner = self.sessions.owner(session_id) if session_id is not None else None
        for stored in self.store.unfinished():
            if self.is_live(stored.run_id) or (owner is not None and stored.token_source == TokenSource.USER
                                               and stored.owner != owner):
                continue
            model = self.catalog.find(stored.record.model_id)
            client, waiting = self._client_for(stored, session_id)
            # A run that was never sent needs no token to end: nothing can exist to look up or follow.
            if model is None or (client is None and waiting != "sandbox" and not self._never_sent(stored)):
                if waiting and waiting != "sandbox" and stored.label != waiting:
                    self.store.set_label(stored.run_id, waiting)  # keeps updated_at: when its POST left
                continue
            stop = threading.Event()
            with self._lock:
                if stored.run_id in self._live:
                    continue
                self._live[stored.run_id] = stop
            # Read again now that no other thread can take it: a run of this process that ended after the list
            # was read has left _live too, and its final state must not be "resumed" over.
            fresh = self.store.get(stored.run_id)
            if fresh is None or fresh.is_terminal:
                self._forget(stored.run_id)
                continue
            stored = fresh
            origin = RunOrigin(stored.owner, stored.token_source, stored.api_base, stored.record.group_id,
                               stored.record.notes)
            journal = self._journal(origin, stop)
            stream = self._resumed(stored, model, client, stop)
            threading.Thread(target=self._drive, args=(journaled(stream, journal), stored.run_id),
                             name=f"resume-{stored.run_id[:8]}", daemon=True).start()
            resumed += 1
        return resumed

    def _drive(self, stream: Iterator[RunUpdate], run_id: str) -> None:
        try:
            for _update in stream:
                pass
        except Exception:
            log.exception("resumed run %s broke", run_id)
        finally:
            self._forget(run_id)

    # One lost submit is looked up at a time, its job id on disk before the next looks: two runs killed mid-POST
    # never both take the one job that exists.
    _adopting = threading.Lock()

    @staticmethod
    def _never_sent(stored: StoredRun) -> bool:
        """No job id and no POST in flight: stopped while waiting out a 429 (a refused submit creates no job)."""
        return stored.record.job_id is None and (stored.label.startswith("Krea is busy")
                                                 or stored.record.phase != Phase.SUBMITTING)

    def _resumed(self, stored: StoredRun, model: Model, client: KreaClient | None,
                 stop: threading.Event) -> Iterator[RunUpdate]:
        last = _update_of(stored)
        record = stored.record
        if self._never_sent(stored):
            yield last.evolve(phase=Phase.CANCELLED, label="Never sent", error=RunError(
                ErrorKind.CANCELLED, "The app stopped before this run was sent: no job was created."))
            return
        if client is None:  # a sandbox job: the sandbox that had it ended with the previous process
            # Its job is gone unfinished, so not billed: a terminal status makes the cost 0, not "unknown".
            yield last.evolve(phase=Phase.FAILED, label="Ended with the restart",
                              status=JobStatus.FAILED.value if record.job_id else record.status, error=RunError(
                ErrorKind.NOT_FOUND, "The app restarted while this sandbox run was going. The sandbox keeps jobs "
                                     "only in memory, so it ended with it (sandbox runs are free): run it again."))
            return
        settings = client.settings
        if record.job_id is None:
            # Killed while its POST was out: the job may exist. Look for it, never send it again. The POST left at
            # the run's last write, or up to a timeout before it ("Krea did not answer" is written after the read
            # timeout), never before the run started; labels written since (waiting, looking) keep that time.
            timeouts = timedelta(seconds=settings.connect_timeout + settings.read_timeout)
            written = parse_timestamp(stored.updated_at) or datetime.now(timezone.utc)
            started = parse_timestamp(record.started_at) or written - timeouts
            sent = min(max(started, written - timeouts), written)
            self.store.set_label(stored.run_id, "Looking for the job in your job list…")
            with self._adopting:
                job, error = look_up_submitted(client, sent_at=sent, latest=written + timeouts,
                                               is_known=self.store.knows_job)
                if job is None:
                    yield last.evolve(phase=Phase.FAILED, label="Not found", error=error)
                    return
                last = last.evolve(job_id=job.job_id, phase=Phase.FOLLOWING, status=job.status)
                yield last  # journaled before the next run looks
        yield from resume_generation(client, model, last, output_dir=self.output_dir, backend=record.backend,
                                     poll=settings.poll, stop=stop)


def comparison_settings(request: ComparisonRequest, plan: ComparisonPlan) -> dict[str, Any]:
    """The Compare form as the user set it (seed as used), kept with the group so it can be reopened; with
    reference pictures, their strength, names, hashes and uploaded URLs."""
    settings = {"prompt": request.prompt, "model_ids": [a.model.id for a in plan.adapted],
                "width": request.width, "height": request.height, "seed": plan.seed,
                "steps": request.steps, "guidance": request.guidance}
    if plan.references is not None:
        settings["references"] = plan.references.summary(plan.asset_urls)
    return settings


def priced_preflight(adapted: Iterable[Adapted], budget_usd: float | None = None, speed: float | None = None,
                     min_seconds: float = 0.0) -> Preflight:
    """compare.preflight, with each job priced for the body it sends (Krea 2 costs more with style references)."""
    adapted = list(adapted)
    plan = preflight(adapted, budget_usd, speed, min_seconds)
    prices = [estimate_usd(a.model, a.params) for a in adapted]
    return dataclasses.replace(plan, cost_usd=round(sum(p for p in prices if p is not None), 4))
