"""Per-browser-session state that must never leak between users: API clients, tokens and stop switches.

A hosted Space serves strangers. Each session gets its own KreaClient built from the token held for that session;
a token pasted by one user is never used for another, and everything is dropped when the tab closes.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import NamedTuple

from playground.krea.client import KreaClient
from playground.krea.errors import KreaError, Unauthorized
from playground.settings import ClientSettings


@dataclass
class Backend:
    """Where jobs go: Krea's cloud or the local sandbox. The client never knows which."""

    name: str  # "krea" | "sandbox"
    client_settings: ClientSettings
    shared_token: str | None = field(default=None, repr=False)  # the operator's token (env), if any
    sandbox: object | None = None  # the running SandboxServer in sandbox mode
    # Where a visitor's own pasted token goes (Krea's API), whatever the app's default backend is.
    krea_settings: ClientSettings | None = None
    # Webhook mode: the receiver's path (with its secret) that the client settings' webhook_url points at.
    webhook_path: str | None = field(default=None, repr=False)

    @property
    def is_sandbox(self) -> bool:
        return self.name == "sandbox"

    @property
    def base_url(self) -> str:
        return self.client_settings.base_url


class Route(NamedTuple):
    """Where one session's jobs go."""

    client: KreaClient
    backend_name: str  # "sandbox" | "krea"
    settings: ClientSettings
    token_source: str = "none"  # "sandbox" | "env" | "user" | "none": which kind of token the client holds

    @property
    def is_sandbox(self) -> bool:
        return self.backend_name == "sandbox"


@dataclass
class _Session:
    client: KreaClient
    token_source: str  # "sandbox" | "env" | "user" | "none"
    backend_name: str  # where this session's jobs go: "sandbox" | "krea"
    settings: ClientSettings
    runs: dict[str, threading.Event] = field(default_factory=dict)
    owner: str | None = None  # the browser's private id (set when the page loads), else the session itself


class SessionRegistry:
    """Clients and run switches per Gradio session_hash. Thread-safe: handlers run in a thread pool."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}

    def _default_session(self) -> _Session:
        backend = self.backend
        if backend.is_sandbox:
            # Each visitor gets an own sandbox identity, so the sandbox shows nobody else's jobs.
            token, source = f"sandbox-{secrets.token_urlsafe(12)}", "sandbox"
        else:
            token, source = backend.shared_token, "env" if backend.shared_token else "none"
        return _Session(KreaClient(token, backend.client_settings), source, backend.name, backend.client_settings)

    def _session(self, session_id: str) -> _Session:
        """The session's state, created on first use. Call with the lock held."""
        session = self._sessions.get(session_id)
        if session is None:
            session = self._sessions[session_id] = self._default_session()
        return session

    def client(self, session_id: str) -> KreaClient:
        with self._lock:
            return self._session(session_id).client

    def route(self, session_id: str) -> Route:
        """This session's client, the backend it talks to, and that backend's settings."""
        with self._lock:
            session = self._session(session_id)
            return Route(session.client, session.backend_name, session.settings, session.token_source)

    def set_owner(self, session_id: str, owner: str) -> None:
        """Tie this session to a browser's private id, so its runs are found again after a reload."""
        with self._lock:
            self._session(session_id).owner = owner

    def owner(self, session_id: str) -> str:
        """Who this session's runs belong to: the browser's id, else the session (API clients)."""
        with self._lock:
            session = self._sessions.get(session_id)  # never re-creates a closed tab's session
            return (session.owner if session else None) or f"session:{session_id}"

    def has_token(self, session_id: str) -> bool:
        """Whether this session can reach its backend (the sandbox needs no real token)."""
        with self._lock:
            return self._session(session_id).token_source != "none"

    def token_source(self, session_id: str) -> str:
        with self._lock:
            return self._session(session_id).token_source

    def use_token(self, session_id: str, token: str) -> KreaClient:
        """Send this session's jobs to Krea with the visitor's own token. Nobody else's session ever sees it."""
        settings = self.backend.krea_settings or self.backend.client_settings
        fresh = _Session(KreaClient(token.strip(), settings), "user", "krea", settings)
        with self._lock:
            old = self._sessions.get(session_id)
            if old is not None:
                fresh.runs, fresh.owner = old.runs, old.owner
            self._sessions[session_id] = fresh
        return fresh.client

    def check_token(self, session_id: str, token: str) -> str:
        """Use `token` for this session and check it with one cheap authenticated call (GET /jobs?limit=1).

        Returns "ok", "refused" (the token was dropped again) or "unchecked: <reason>" (kept: Krea could not be
        asked, e.g. no network, and the first run will tell)."""
        client = self.use_token(session_id, token)
        try:
            client.list_jobs(limit=1)
        except Unauthorized:
            self.forget_token(session_id)
            return "refused"
        except KreaError as exc:
            return f"unchecked: {exc.user_message}"
        return "ok"

    def forget_token(self, session_id: str) -> None:
        """Back to the app's default backend; the pasted token is dropped from memory."""
        with self._lock:
            old = self._sessions.pop(session_id, None)
            fresh = self._sessions[session_id] = self._default_session()
            if old is not None:
                fresh.runs, fresh.owner = old.runs, old.owner

    def begin_run(self, session_id: str, run_key: str) -> threading.Event:
        """A fresh stop switch for one run (a previous run under the same key is told to stop)."""
        stop = threading.Event()
        with self._lock:
            session = self._session(session_id)
            previous = session.runs.get(run_key)
            session.runs[run_key] = stop
        if previous is not None:
            previous.set()
        return stop

    def end_run(self, session_id: str, run_key: str, stop: threading.Event) -> None:
        with self._lock:
            session = self._sessions.get(session_id)
            if session and session.runs.get(run_key) is stop:
                del session.runs[run_key]

    def active_runs(self, session_id: str) -> int:
        """How many runs this session has going (each Compare tile counts one)."""
        with self._lock:
            session = self._sessions.get(session_id)
            return sum(1 for ev in session.runs.values() if not ev.is_set()) if session else 0

    def stop_runs(self, session_id: str, prefix: str = "") -> int:
        """Set the stop switch of every run of this session whose key starts with `prefix`."""
        with self._lock:
            session = self._sessions.get(session_id)
            events = [ev for key, ev in (session.runs.items() if session else []) if key.startswith(prefix)]
        for ev in events:
            ev.set()
        return len(events)

    def drop(self, session_id: str) -> None:
        """The tab closed: forget its token. Its runs go on (the run service finishes them into History); a
        running job keeps its client, and so the token, only until it ends."""
        with self._lock:
            self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
