"""Krea's ``/assets`` and ``/styles`` routes on the sandbox, and the files they point at.

``POST /assets`` reads its multipart body as a stream capped at the asset limit plus a little room for the form
(the parts spool to disk past 1 MB): a 2 GB upload is refused after ``max_bytes``, never buffered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from .answers import authenticate, base_url, error, not_implemented, page_query
from .assets import AssetRefused, asset_view
from .engine import JobEngine, owner_key
from .styles import BY_ID, COVER_NAME, STYLES, cover_png, style_view

FORM_ROOM = 64 * 1024  # boundaries, part headers and the description, on top of the file itself
STYLE_FILTERS = ("all", "user", "community", "krea", "shared", "unapproved", "editor", "gallery", "public")
NO_STYLES_FOR = frozenset({"user", "shared", "unapproved"})  # the sandbox's API user owns and shares none


class _TooLarge(Exception):
    pass


async def _capped(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    received = 0
    async for chunk in stream:
        received += len(chunk)
        if received > limit:
            raise _TooLarge
        yield chunk


def add_asset_routes(app: FastAPI, engine: JobEngine) -> None:
    settings, store = engine.settings, engine.assets

    def too_large() -> JSONResponse:
        return error(400, f"file is too large: at most {store.max_bytes:,} bytes.")

    @app.post("/assets")
    async def upload_asset(request: Request):
        token = authenticate(request, settings)
        if isinstance(token, JSONResponse):
            return token
        if not request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
            return error(400, "POST /assets takes multipart/form-data: the image as a part named 'file', and an "
                              "optional 'description'.")
        limit = store.max_bytes + FORM_ROOM
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return too_large()  # refused before reading a byte of it
        parser = MultiPartParser(request.headers, _capped(request.stream(), limit), max_files=1, max_fields=8,
                                 max_part_size=FORM_ROOM)
        try:
            form = await parser.parse()
        except _TooLarge:
            return too_large()
        except MultiPartException as exc:
            return error(400, f"Invalid multipart body: {exc.message}")
        try:
            upload, description = form.get("file"), form.get("description", "")
            if not isinstance(upload, UploadFile):
                return error(400, "file is required: send the image as a multipart part named 'file'.")
            if not isinstance(description, str):
                return error(400, "description must be text, not a file.")
            try:
                asset = await run_in_threadpool(store.add, owner_key(token), upload.file, upload.size or 0,
                                                description)
            except AssetRefused as exc:
                return error(400, str(exc))
        finally:
            await form.close()
        return asset_view(asset, base_url(request))

    @app.get("/assets")
    async def list_assets(request: Request):
        token = authenticate(request, settings)
        if isinstance(token, JSONResponse):
            return token
        paging = page_query(request)
        if isinstance(paging, JSONResponse):
            return paging
        limit, cursor_ms = paging
        items, next_cursor = store.list(owner_key(token), cursor_ms=cursor_ms, limit=limit)
        base = base_url(request)
        return {"items": [asset_view(a, base) for a in items], "next_cursor": next_cursor}

    @app.get("/assets/{asset_id}")
    async def get_asset(asset_id: str, request: Request):
        token = authenticate(request, settings)
        if isinstance(token, JSONResponse):
            return token
        asset = store.get(owner_key(token), asset_id)
        if asset is None:
            return error(404, f"Asset '{asset_id}' not found.")
        return asset_view(asset, base_url(request))

    @app.delete("/assets/{asset_id}")
    async def delete_asset(asset_id: str, request: Request):
        token = authenticate(request, settings)
        if isinstance(token, JSONResponse):
            return token
        if not await run_in_threadpool(store.delete, owner_key(token), asset_id):
            return error(404, f"Asset '{asset_id}' not found.")
        return {"success": True, "message": f"Asset '{asset_id}' deleted."}

    @app.get("/assets-files/{asset_id}/{name}")
    async def get_asset_file(asset_id: str, name: str):
        asset = store.find(asset_id)
        if asset is None or asset.name != name or not asset.path.is_file():
            return error(404, f"File '{name}' of asset '{asset_id}' not found (deleted, or never uploaded).")
        return FileResponse(asset.path, media_type=asset.mime_type, headers={"Cache-Control": "public, max-age=3600"})


def add_style_routes(app: FastAPI, engine: JobEngine, served: str) -> None:
    settings = engine.settings
    newest_first = sorted(STYLES, key=lambda s: s.created_at, reverse=True)

    @app.get("/styles")
    async def list_styles(request: Request):
        token = authenticate(request, settings)
        if isinstance(token, JSONResponse):
            return token
        paging = page_query(request)
        if isinstance(paging, JSONResponse):
            return paging
        limit, cursor_ms = paging
        query = request.query_params
        chosen = query.get("filter") or "all"
        if chosen not in STYLE_FILTERS:
            return error(400, f"filter must be one of {', '.join(STYLE_FILTERS)}; got {chosen!r}.")
        liked = (query.get("liked") or "false").lower()
        if liked not in ("true", "false"):
            return error(400, f"liked must be true or false; got {query.get('liked')!r}.")
        ids = {i.strip() for i in query.get("ids", "").split(",") if i.strip()}
        model = query.get("model")
        styles = [] if chosen in NO_STYLES_FOR or liked == "true" or query.get("user") else newest_first
        styles = [s for s in styles if (not ids or s.style_id in ids) and (not model or model in s.models)
                  and (cursor_ms is None or s.created_ms < cursor_ms)]
        page, more = styles[:limit], len(styles) > limit
        base = base_url(request)
        return {"items": [style_view(s, base) for s in page], "next_cursor": page[-1].created_at if more else None}

    @app.get("/styles/{style_id}")
    async def get_style(style_id: str, request: Request):
        token = authenticate(request, settings)
        if isinstance(token, JSONResponse):
            return token
        style = BY_ID.get(style_id)
        if style is None:
            return error(404, f"Style '{style_id}' not found.")
        return style_view(style, base_url(request))

    @app.get("/styles-files/{style_id}/{name}")
    async def get_style_file(style_id: str, name: str):
        if style_id not in BY_ID or name != COVER_NAME:
            return error(404, f"File '{name}' of style '{style_id}' not found.")
        data = await run_in_threadpool(cover_png, style_id)  # rendered once, then cached
        return Response(content=data, media_type="image/png", headers={"Cache-Control": "public, max-age=3600"})

    # Training, editing and sharing styles are not implemented: say so (not 405 for a method of GET /styles).
    methods = ["POST", "PUT", "PATCH", "DELETE"]

    @app.api_route("/styles", methods=methods)
    @app.api_route("/styles/{rest:path}", methods=["GET", *methods])
    async def styles_not_implemented(request: Request):
        token = authenticate(request, settings)  # 401 before 404, as on every route of Krea's
        if isinstance(token, JSONResponse):
            return token
        return error(404, not_implemented(request.method, request.url.path, served))
