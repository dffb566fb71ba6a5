"""Per-browser-session state that must never leak between users: API clients, tokens and stop switches.

A hosted Space serves strangers. Each session gets its own KreaClient built from the token held for that session;
a token pasted by one user is never used for another, and everything is dropped when the tab closes.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

from playground.krea.client import KreaClient
from playground.settings import ClientSettings


@dataclass
class Backend:
    """Where jobs go: Krea's cloud or the local sandbox. The client never knows which."""

    name: str  # "krea" | "sandbox"
    client_settings: ClientSettings
    shared_token: str | None = field(default=None, repr=False)  # the operator's token (env), if any
    sandbox: object | None = None  # the running SandboxServer in sandbox mode

    @property
    def is_sandbox(self) -> bool:
        return self.name == "sandbox"

    @property
    def base_url(self) -> str:
        return self.client_settings.base_url


@dataclass
class _Session:
    client: KreaClient
    token_source: str  # "sandbox" | "env" | "user"
    runs: dict[str, threading.Event] = field(default_factory=dict)


class SessionRegistry:
    """Clients and run switches per Gradio session_hash. Thread-safe: handlers run in a thread pool."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}

    def _new_session(self, token: str | None, source: str) -> _Session:
        if token is None and self.backend.is_sandbox:
            # Each visitor gets an own sandbox identity, so the sandbox shows nobody else's jobs.
            token, source = f"sandbox-{secrets.token_urlsafe(12)}", "sandbox"
        elif token is None:
            token, source = self.backend.shared_token, "env"
        return _Session(client=KreaClient(token, self.backend.client_settings), token_source=source)

    def client(self, session_id: str) -> KreaClient:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                session = self._sessions[session_id] = self._new_session(None, "")
            return session.client

    def has_token(self, session_id: str) -> bool:
        """Whether this session can reach the backend (the sandbox needs no real token)."""
        if self.backend.is_sandbox or self.backend.shared_token:
            return True
        with self._lock:
            session = self._sessions.get(session_id)
            return bool(session and session.token_source == "user")

    def use_token(self, session_id: str, token: str) -> None:
        """Switch this session to the user's own token (a hosted app without an operator token)."""
        with self._lock:
            old = self._sessions.pop(session_id, None)
            self._sessions[session_id] = self._new_session(token.strip(), "user")
        if old:
            old.client.close()

    def begin_run(self, session_id: str, run_key: str) -> threading.Event:
        """A fresh stop switch for one run (a previous run under the same key is told to stop)."""
        stop = threading.Event()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                session = self._sessions[session_id] = self._new_session(None, "")
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

    def stop_runs(self, session_id: str, prefix: str = "") -> int:
        """Set the stop switch of every run of this session whose key starts with `prefix`."""
        with self._lock:
            session = self._sessions.get(session_id)
            events = [ev for key, ev in (session.runs.items() if session else []) if key.startswith(prefix)]
        for ev in events:
            ev.set()
        return len(events)

    def drop(self, session_id: str) -> None:
        """The tab closed: stop its runs (their streams cancel the remote jobs) and forget its token."""
        with self._lock:
            session = self._sessions.pop(session_id, None)
        if session:
            for ev in session.runs.values():
                ev.set()
            session.client.close()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)
