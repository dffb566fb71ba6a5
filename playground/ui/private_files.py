"""Gradio's file route never hands out our private folders by their own paths.

Gradio shows an image by copying it into its cache (``<upload folder>/<keyed sha256 of the bytes>/<name>``) and
serving that copy at ``/gradio_api/file=<copy>``. To make the copy it must be allowed to read the original, so the
outputs folder is in ``allowed_paths`` (it may live outside the working directory, e.g. on a Space's disk); but
``allowed_paths`` also lets *anyone* fetch ``/gradio_api/file=<outputs>/<any run>.png`` directly. This middleware
refuses those direct reads (403) for the outputs, previews and data folders, so an image is reachable only
through the cache address given to the session that ran it: a file request carries no session (an ``<img>``
sends no Gradio session), so that address, 256 unguessable bits, is the session's capability.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

FILE_ROUTE_MARK = "/file="  # /gradio_api/file=… and Gradio's older /file=… alias


def _resolved(path: str | Path) -> Path:
    return Path(os.path.abspath(path)).resolve()


class PrivateFolders:
    """ASGI middleware: 403 for ``…/file=<path>`` when the path lies inside one of ``folders``."""

    def __init__(self, app: Any, folders: Iterable[str | Path]) -> None:
        self.app = app
        self.folders = tuple(_resolved(f) for f in folders)

    def refuses(self, url_path: str) -> bool:
        if FILE_ROUTE_MARK not in url_path:
            return False
        asked = unquote(url_path.split(FILE_ROUTE_MARK, 1)[1])
        if not asked or "://" in asked:  # a URL, not a path: Gradio handles (and limits) those itself
            return False
        try:
            target = _resolved(asked)
        except (OSError, ValueError):
            return True  # a path that cannot even be resolved is not worth serving
        return any(target == folder or folder in target.parents for folder in self.folders)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and self.refuses(scope.get("path", "")):
            body = b"File not allowed."
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
