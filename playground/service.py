"""The run service: the one path by which every tab and the API start, stop and estimate runs.

It owns the rules: which model, which prompt, which numbers are acceptable (validated once, here, against the
catalog), the seed actually used, the 2-8 model rule, the budget refusal, the token check, where a session's
jobs go and how long they should take there. Callers read their form or their arguments into a request, call
``start_generation`` / ``start_comparison``, and render the updates. A request that may not run raises
:class:`RunRefused` before anything is sent.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playground.catalog import MAX_SEED, Catalog, Model, ValidationFailed, check_params, example_params
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
from playground.generate import run_generation
from playground.krea.errors import ErrorKind
from playground.runs import RunError, RunRecord, RunRefused, RunUpdate
from playground.sessions import Backend, Route, SessionRegistry

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


class RunService:
    """Starts and stops runs for sessions. One per app; holds no per-request state of its own."""

    def __init__(self, catalog: Catalog, backend: Backend, sessions: SessionRegistry, output_dir: Path) -> None:
        self.catalog = catalog
        self.backend = backend
        self.sessions = sessions
        self.output_dir = Path(output_dir)

    # --- models and estimates ----------------------------------------------------------------------------------

    def model(self, model_id: Any) -> Model:
        model = self.catalog.find(str(model_id or "").strip())
        if model is None:
            raise RunRefused.invalid("model", f"Unknown model {str(model_id)[:60]!r}. The /models endpoint (or "
                                              "the Model menu) lists every model id.")
        if model.needs_image:
            raise RunRefused.invalid("model", f"{model.name} needs an input image, which the playground cannot "
                                              "send yet. Choose a text-to-image model.")
        return model

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

    def prepare_generation(self, request: GenerationRequest) -> tuple[Model, dict[str, Any]]:
        """The model and the exact body to send, or RunRefused naming the field."""
        model = self.model(request.model_id)
        prompt = check_text(request.prompt, "prompt", "The prompt")
        if not prompt.strip():
            raise RunRefused.invalid("prompt", "Type a prompt first: describe the image you want.")
        params = {k: v for k, v in dict(request.params or {}).items() if k not in ("prompt", "seed")}
        body = _normalized(model, {"prompt": prompt, **params})
        if model.param("seed") is not None:
            body["seed"] = self.choose_seed(request.seed, request.randomize_seed)
        try:
            check_params(model, body)
        except ValidationFailed as exc:
            raise RunRefused.invalid(exc.field, str(exc)) from None
        return model, body

    def _route(self, session_id: str) -> Route:
        if not self.sessions.has_token(session_id):
            raise RunRefused(NO_TOKEN)
        return self.sessions.route(session_id)

    def start_generation(self, session_id: str, request: GenerationRequest, *,
                         run_key: str = GENERATE_KEY) -> Iterator[RunUpdate]:
        """Check the request (RunRefused at once) and return the stream of the run's updates. The run starts when
        the stream is first read; a new run under the same `run_key` stops the previous one (one Generate per
        tab)."""
        model, body = self.prepare_generation(request)
        route = self._route(session_id)
        return self._generation(session_id, run_key, route, model, body)

    def _generation(self, session_id: str, run_key: str, route: Route, model: Model,
                    body: dict[str, Any]) -> Iterator[RunUpdate]:
        # The stop switch is taken and released inside the generator, so a stream that is never read holds none.
        stop = self.sessions.begin_run(session_id, run_key)
        try:
            yield from run_generation(route.client, model, body, output_dir=self.output_dir,
                                      backend=route.backend_name, poll=route.settings.poll, stop=stop)
        finally:
            self.sessions.end_run(session_id, run_key, stop)

    # --- compare ---------------------------------------------------------------------------------------------

    def plan_comparison(self, session_id: str, request: ComparisonRequest) -> ComparisonPlan:
        """Adapted requests, cost and time for a comparison, or RunRefused (count, prompt, numbers)."""
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
        adapted = tuple(adapt(m, shared) for m in models)
        for item in adapted:
            try:
                check_params(item.model, item.params)
            except ValidationFailed as exc:  # adapt() keeps values in range; this guards against a catalog gap
                raise RunRefused.invalid(exc.field, f"{item.model.name}: {exc}") from None
        factor, floor = self.time_scale(session_id)
        plan = preflight(list(adapted), cap, factor, floor)
        return ComparisonPlan(adapted, plan, shared.seed, uuid.uuid4().hex)

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

    def start_comparison(self, session_id: str, request: ComparisonRequest, *,
                         key_prefix: str = COMPARE_PREFIX) -> tuple[ComparisonPlan, Iterator[CompareSnapshot]]:
        """Check, plan and return a comparison: its plan (RunRefused at once) and the stream of snapshots, which
        starts the jobs when first read. Tile i stops with ``stop(session_id, tile_key(key_prefix, i))``; all of
        them with ``stop(session_id, key_prefix)``."""
        plan = self.plan_comparison(session_id, request)
        self.check_budget(plan, request.allow_unpriced)
        route = self._route(session_id)
        return plan, self._comparison(session_id, key_prefix, route, plan)

    def _comparison(self, session_id: str, key_prefix: str, route: Route,
                    plan: ComparisonPlan) -> Iterator[CompareSnapshot]:
        keys = [tile_key(key_prefix, i) for i in range(len(plan.adapted))]
        stops = [self.sessions.begin_run(session_id, key) for key in keys]
        try:
            yield from run_comparison(route.client, list(plan.adapted), output_dir=self.output_dir,
                                      backend=route.backend_name, poll=route.settings.poll,
                                      stops={a.model.id: stop for a, stop in zip(plan.adapted, stops)})
        finally:
            for key, stop in zip(keys, stops):
                self.sessions.end_run(session_id, key, stop)

    # --- stopping ----------------------------------------------------------------------------------------------

    def stop(self, session_id: str, key_prefix: str) -> int:
        """Stop this session's runs whose key starts with `key_prefix`; how many were told."""
        return self.sessions.stop_runs(session_id, key_prefix)
