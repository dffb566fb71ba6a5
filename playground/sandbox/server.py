"""The sandbox's HTTP face: Krea's routes on FastAPI, answering as Krea does (see docs/SANDBOX.md).

FastAPI is used as a router only: bodies and query strings are read by hand and validated with the catalog, so
every error is Krea's ``{"error": "..."}`` shape (never FastAPI's 422 ``detail`` list, never HTML).
"""

from __future__ import annotations

import json
import math
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from playground.catalog import Catalog, load_catalog, validate_params
from playground.settings import SandboxSettings

from .answers import authenticate as _authenticate
from .answers import base_url as _base
from .answers import error, not_implemented, page_query
from .asset_routes import add_asset_routes, add_style_routes
from .engine import STATUSES, CapacityExceeded, JobEngine, NotCancellable, OutOfCredits, webhook_url_error
from .faults import Fault
from .job_types import parse_types
from .references import ReferenceRefused
from .spec import build_openapi, is_krea_path

IMPLEMENTED = (
    "POST /generate/image/{model}, GET /jobs, GET /jobs/{id}, DELETE /jobs/{id}, POST /assets, GET /assets, "
    "GET /assets/{id}, DELETE /assets/{id}, GET /styles, GET /styles/{id}, GET /openapi.json, "
    "GET /files/{job_id}/{name}, GET /assets-files/{id}/{name}, GET /styles-files/{id}/{name}, GET /_sandbox/health"
)
# Listed (and routed) only when SandboxSettings.faults_enabled: switched off, the control route does not exist.
FAULT_ROUTES = "GET|POST|DELETE /_sandbox/faults"


def implemented(settings: SandboxSettings) -> str:
    """What a 404 says the sandbox serves: the fault routes only when they are switched on."""
    return f"{IMPLEMENTED}, {FAULT_ROUTES}" if settings.faults_enabled else IMPLEMENTED


def _retry_headers(seconds: float | None) -> dict[str, str] | None:
    return None if seconds is None else {"Retry-After": str(max(0, math.ceil(seconds)))}


def _describe(errors) -> str:
    parts = [e.message if e.field and e.field in e.message else f"{e.field}: {e.message}" for e in errors]
    return "Invalid request body: " + "; ".join(parts)


def create_app(
    settings: SandboxSettings | None = None, *, engine: JobEngine | None = None, catalog: Catalog | None = None
) -> FastAPI:
    """The sandbox ASGI app. Pass an ``engine`` to share it (:class:`SandboxServer` does, and runs it); an
    engine the app creates itself (on ``catalog``, by default the bundled one) is started and stopped by the
    ASGI lifespan (e.g. ``uvicorn --factory``)."""
    owns_engine = engine is None
    if engine is None:
        engine = JobEngine(settings, catalog if catalog is not None else load_catalog())
    settings = engine.settings
    catalog = engine.catalog

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        if owns_engine:
            engine.start()
        yield
        if owns_engine:
            engine.stop()

    app = FastAPI(
        title="Krea sandbox",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
        lifespan=lifespan,
    )
    app.state.engine = engine
    spec_cache: dict[str, dict] = {}
    served = implemented(settings)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        method, path = request.method, request.url.path
        if exc.status_code in (404, 405) and is_krea_path(path):
            token = _authenticate(request, settings)  # Krea's routes all need a token: 401 comes first
            if isinstance(token, JSONResponse):
                return token
        if exc.status_code == 404:
            message = not_implemented(method, path, served)
        elif exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            message = f"{method} is not allowed on {path} (allowed: {allowed})."
        else:
            message = str(exc.detail)
        return error(exc.status_code, message, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error(400, f"Invalid request: {exc.errors()}")

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        return error(500, f"Sandbox internal error: {type(exc).__name__}: {exc}")

    # ------------------------------------------------------------------------------------------- generation

    @app.post("/generate/image/{model_id:path}")
    async def submit(model_id: str, request: Request):
        token = _authenticate(request, settings)
        if isinstance(token, JSONResponse):
            return token
        retired = catalog.retired.get(model_id) or catalog.retired.get(model_id.removeprefix("image/"))
        if retired is not None:
            return JSONResponse(retired.body(), status_code=410)
        try:
            model = catalog.get(model_id)
        except KeyError:
            return error(404, f"Model '{model_id}' not found. The image models are the /generate/image/... paths "
                         "of GET /openapi.json.")
        fault = engine.faults.take_submit(model.id)
        if fault is not None:
            return error(fault.status, fault.error_message, _retry_headers(fault.retry_after))
        bad = settings.invalid_body_status
        raw = await request.body()
        try:
            params = json.loads(raw) if raw.strip() else None
        except ValueError:
            return error(bad, "Invalid request body: it is not valid JSON.")
        if not isinstance(params, dict):
            return error(bad, "Invalid request body: expected a JSON object such as {\"prompt\": \"...\"}.")
        problems = validate_params(model, params)
        if problems:
            return error(bad, _describe(problems))
        webhook = request.headers.get("x-webhook-url")
        if webhook is not None:
            problem = webhook_url_error(webhook, settings.webhook_allow_remote)
            if problem:
                return error(400, problem)
        references = ()
        if engine.references.wanted(params):  # reads and decodes images: off the event loop
            try:
                references = await run_in_threadpool(engine.references.resolve, model, params, _base(request))
            except ReferenceRefused as exc:
                return error(bad, str(exc))
        try:
            job = engine.submit(token, model, params, webhook_url=webhook, base_url=_base(request),
                                references=references)
        except OutOfCredits as exc:
            return error(402, str(exc))
        except CapacityExceeded as exc:
            return error(429, str(exc), _retry_headers(exc.retry_after))
        return engine.view(job, _base(request))

    # ------------------------------------------------------------------------------------------------- jobs

    @app.get("/jobs")
    async def list_jobs(request: Request):
        token = _authenticate(request, settings)
        if isinstance(token, JSONResponse):
            return token
        paging = page_query(request)
        if isinstance(paging, JSONResponse):
            return paging
        limit, cursor_ms = paging
        status = request.query_params.get("status") or None
        if status is not None and status not in STATUSES:
            return error(400, f"status must be one of {', '.join(STATUSES)}; got {status!r}.")
        types = parse_types(request.query_params.get("types"))
        items, next_cursor = engine.list_jobs(token, cursor_ms=cursor_ms, limit=limit, status=status, types=types)
        base = _base(request)
        return {"items": [engine.view(j, base) for j in items], "next_cursor": next_cursor}

    @app.get("/jobs/{job_id}")
    async def get_job(job_id: str, request: Request):
        token = _authenticate(request, settings)
        if isinstance(token, JSONResponse):
            return token
        job = engine.get(token, job_id)
        fault = engine.faults.take_get(job.model_id if job else None)
        if fault is not None:
            return error(fault.status, fault.error_message, _retry_headers(fault.retry_after))
        if job is None:
            return error(404, f"Job '{job_id}' not found.")
        job.polls += 1  # on the event loop: one writer at a time
        return engine.view(job, _base(request))

    @app.delete("/jobs/{job_id}")
    async def cancel_job(job_id: str, request: Request):
        token = _authenticate(request, settings)
        if isinstance(token, JSONResponse):
            return token
        try:
            job = engine.cancel(token, job_id)
        except NotCancellable as exc:
            return error(engine.cancel_refused_status, str(exc))
        if job is None:
            return error(404, f"Job '{job_id}' not found.")
        return engine.view(job, _base(request))

    # ----------------------------------------------------------------------------------------- files, spec

    @app.get("/files/{job_id}/{name}")
    async def get_file(job_id: str, name: str):
        found = engine.file(job_id, name)
        if found is None:
            return error(404, f"File '{name}' of job '{job_id}' not found (not published yet, or dropped).")
        data, media_type = found
        return Response(content=data, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})

    @app.get("/openapi.json")
    async def openapi(request: Request):
        if "spec" not in spec_cache:
            spec_cache["spec"] = build_openapi(catalog)
        spec = dict(spec_cache["spec"])
        spec["servers"] = [{"url": _base(request), "description": "Krea sandbox (procedural images)"}]
        return spec

    # ------------------------------------------------------------------------------------------ control plane

    @app.get("/_sandbox/health")
    async def health():
        stats = engine.stats()
        if not settings.faults_enabled:
            stats.pop("faults", None)  # no hint of a control route that is switched off
        return {"status": "ok", "sandbox": True, "models": len(catalog.models), **stats}

    add_asset_routes(app, engine)
    add_style_routes(app, engine, served)
    if settings.faults_enabled:
        _add_fault_routes(app, engine, catalog)
    return app


def _add_fault_routes(app: FastAPI, engine: JobEngine, catalog: Catalog) -> None:
    """``/_sandbox/faults``: anyone who can reach it can fail every job, so it exists only when switched on
    (``SANDBOX_FAULTS=1``, ``--faults``); otherwise it is a 404 like any unknown route. Faults set from Python
    (``SandboxServer.set_fault``, ``engine.faults``) need no switch."""

    def _faults() -> dict:
        return {"faults": [f.to_dict() for f in engine.faults.list()]}

    @app.get("/_sandbox/faults")
    async def list_faults():
        return _faults()

    @app.post("/_sandbox/faults")
    async def add_faults(request: Request):
        try:
            data = json.loads(await request.body() or b"null")
        except ValueError:
            return error(400, "Send a fault as a JSON object, e.g. {\"kind\": \"submit_status\", \"status\": 503}.")
        entries = data if isinstance(data, list) else [data]
        try:
            faults = [Fault.from_dict(entry) for entry in entries]
        except (TypeError, ValueError) as exc:
            return error(400, f"Invalid fault: {exc}")
        for fault in faults:
            if fault.model != "*" and fault.model not in catalog:
                return error(400, f"Invalid fault: unknown model {fault.model!r} (use a catalog id or '*').")
        for fault in faults:
            engine.faults.add(fault)
        return {"added": [f.to_dict() for f in faults], **_faults()}

    @app.delete("/_sandbox/faults")
    async def clear_faults(request: Request):
        fault_id = request.query_params.get("id")
        if fault_id:
            if not engine.faults.remove(fault_id):
                return error(404, f"No fault with id {fault_id!r}.")
        else:
            engine.faults.clear(request.query_params.get("kind") or None)
        return _faults()
