"""The run store: one SQLite file that is both the journal (no submitted job is ever forgotten) and the history.

Every run is written when it starts, before its POST leaves, and again on each change that matters (job id,
status, phase, image, error), so a run killed at any instant can be found again on the next start: with a job
id it is followed again; without one, its submit may or may not have reached Krea, and it is looked up in the
account's job list, never sent again.

The standard library's sqlite3 in WAL mode: readers (History) never block the writers (runs), and a write is on
disk when it returns. One connection guarded by a lock: writes are a few per second at most.

Secrets: the store holds no token. It says which *kind* of token made a job (``sandbox``, ``env``: the
operator's, ``user``: one a visitor pasted) so the job can be followed again only with a token of that kind.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path
from typing import Any

from playground.krea.errors import ErrorKind
from playground.runs import Phase, RunError, RunRecord

DB_NAME = "runs.sqlite3"
TERMINAL_PHASES = tuple(str(p) for p in Phase if p.is_terminal)


class TokenSource(StrEnum):
    """Which token made a job, so only a token of that kind follows it again. The token itself is never stored."""

    SANDBOX = "sandbox"  # the built-in sandbox (jobs live in memory: they end with the process)
    ENV = "env"  # the operator's KREA_API_TOKEN
    USER = "user"  # a token a visitor pasted (kept in memory for their tab only)


# Each entry moves the schema from version i to i + 1 (PRAGMA user_version). Never edit a released entry: add one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        run_id       TEXT PRIMARY KEY,
        owner        TEXT NOT NULL,     -- who may see it: a browser's private id, or "api:<session>"
        group_id     TEXT,              -- the comparison it belongs to
        backend      TEXT NOT NULL,     -- "sandbox" | "krea"
        token_source TEXT NOT NULL,     -- TokenSource
        api_base     TEXT NOT NULL,     -- where the job lives
        model_id     TEXT NOT NULL,
        request_path TEXT NOT NULL,
        body         TEXT NOT NULL,     -- JSON: exactly what was (or is being) sent
        prompt       TEXT NOT NULL,
        seed         INTEGER,
        job_id       TEXT,
        phase        TEXT NOT NULL,     -- Phase
        status       TEXT,              -- Krea's job status
        label        TEXT NOT NULL DEFAULT '',
        started_at   TEXT NOT NULL,     -- ISO 8601 UTC
        updated_at   TEXT NOT NULL,
        queue_s      REAL,
        run_s        REAL,
        total_s      REAL,
        cost_usd     REAL,
        priced       INTEGER NOT NULL DEFAULT 0,
        image_path   TEXT,
        image_width  INTEGER,
        image_height INTEGER,
        error        TEXT,              -- JSON RunError
        notes        TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX runs_by_owner ON runs(owner, started_at);
    CREATE INDEX runs_by_group ON runs(group_id);
    CREATE INDEX runs_by_job ON runs(job_id);
    CREATE TABLE groups (
        group_id   TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        created_at TEXT NOT NULL,
        prompt     TEXT NOT NULL,
        settings   TEXT NOT NULL DEFAULT '{}'  -- JSON: the comparison's shared settings as the user set them
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    """
    CREATE TABLE votes (                -- the arena's blind judgements (playground/arena.py)
        vote_id    TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        created_at TEXT NOT NULL,
        round_id   TEXT NOT NULL,       -- the runs' group_id
        prompt     TEXT NOT NULL,
        run_a      TEXT NOT NULL,       -- the run shown as A, and its model
        model_a    TEXT NOT NULL,
        run_b      TEXT NOT NULL,
        model_b    TEXT NOT NULL,
        outcome    TEXT NOT NULL        -- rating.Outcome: a | b | tie | both_bad
    );
    CREATE INDEX votes_by_owner ON votes(owner, created_at);
    CREATE UNIQUE INDEX votes_by_round ON votes(round_id);
    CREATE TABLE grids (                -- prompts x models x seeds batches (playground/grid_runner.py)
        grid_id    TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        created_at TEXT NOT NULL,
        state      TEXT NOT NULL,       -- grid_runner.GridState
        plan       TEXT NOT NULL        -- JSON: prompts, models, seeds, shared settings, concurrency, budget
    );
    CREATE INDEX grids_by_owner ON grids(owner, created_at);
    CREATE TABLE grid_cells (
        grid_id  TEXT NOT NULL REFERENCES grids(grid_id) ON DELETE CASCADE,
        cell_key TEXT NOT NULL,
        run_id   TEXT NOT NULL,         -- the cell's latest run (a re-run of a failed cell replaces it)
        PRIMARY KEY (grid_id, cell_key)
    );
    """,
)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class StoredRun:
    """A run as the store holds it: its record plus who owns it and how it can be followed again."""

    record: RunRecord
    owner: str
    token_source: TokenSource
    api_base: str
    label: str
    updated_at: str

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def is_terminal(self) -> bool:
        return self.record.is_terminal


@dataclass(frozen=True)
class StoredGroup:
    group_id: str
    owner: str
    created_at: str
    prompt: str
    settings: dict


@dataclass(frozen=True)
class RunFilter:
    """What History asks for. Empty fields match everything; `owner` None means every owner (the local owner)."""

    owner: str | None = None
    search: str = ""  # words that must all appear in the prompt (case-insensitive)
    model_id: str | None = None
    phase: str | None = None  # a Phase, or "running" for every unfinished one
    since: str | None = None  # ISO date or date-time, inclusive
    until: str | None = None  # ISO date (the whole day) or date-time, inclusive
    limit: int = 500


def _error_from(text: str | None) -> RunError | None:
    if not text:
        return None
    data = json.loads(text)
    try:
        kind = ErrorKind(data.get("kind"))
    except ValueError:
        kind = ErrorKind.INTERNAL
    return RunError(kind, str(data.get("message", "")), field=data.get("field"),
                    retry_after=data.get("retry_after"), replacement=data.get("replacement"))


class RunStore:
    """The journal and history of every run. Thread-safe."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / DB_NAME
        self._lock = threading.Lock()
        # isolation_level=None: autocommit; each write is its own transaction unless wrapped explicitly.
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=10)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across a process kill
                self._db.execute("PRAGMA foreign_keys=ON")
                self._migrate()
            except BaseException:  # a refused (newer) or broken file: don't keep it open
                self._db.close()
                raise

    # --- schema ------------------------------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise RuntimeError(f"{self.path} was written by a newer playground (schema {version}; this one knows "
                               f"{len(MIGRATIONS)}). Use a newer version or another PLAYGROUND_DATA_DIR.")
        for number in range(version, len(MIGRATIONS)):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(MIGRATIONS[number]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number + 1}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # --- meta --------------------------------------------------------------------------------------------------

    def meta(self, key: str, make: Callable[[], str]) -> str:
        """A value kept across restarts (e.g. the secret that encrypts browser ids), made once by `make()`."""
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return row[0]
            value = str(make())
            self._db.execute("INSERT INTO meta(key, value) VALUES (?, ?)", (key, value))
            return value

    def execute(self, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        """One statement under the store's lock, for the tables other modules own (votes, grids): their rows."""
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def runs(self, run_ids: Iterable[str]) -> dict[str, StoredRun]:
        """These runs by id (missing ones left out)."""
        ids = list(dict.fromkeys(run_ids))
        found: dict[str, StoredRun] = {}
        for start in range(0, len(ids), 500):  # SQLite's limit on bound parameters
            chunk = ids[start:start + 500]
            with self._lock:
                found.update((r.run_id, r) for r in self._select(f"run_id IN ({', '.join('?' * len(chunk))})",
                                                                 chunk))
        return found

    # --- writing -----------------------------------------------------------------------------------------------

    def save(self, record: RunRecord, *, owner: str, token_source: TokenSource | str, api_base: str,
             label: str = "") -> None:
        """Insert or update one run from its latest record. Owner, token source and api base are set once."""
        row = {
            "run_id": record.run_id, "owner": owner, "group_id": record.group_id, "backend": record.backend,
            "token_source": str(token_source), "api_base": api_base, "model_id": record.model_id,
            "request_path": record.request_path, "body": json.dumps(record.params, ensure_ascii=False),
            "prompt": record.prompt, "seed": record.seed, "job_id": record.job_id, "phase": str(record.phase),
            "status": record.status, "label": label, "started_at": record.started_at or utc_now(),
            "updated_at": utc_now(), "queue_s": record.queue_s, "run_s": record.run_s, "total_s": record.total_s,
            "cost_usd": record.cost_usd, "priced": int(record.priced), "image_path": record.image_path,
            "image_width": record.image_size[0] if record.image_size else None,
            "image_height": record.image_size[1] if record.image_size else None,
            "error": json.dumps(record.error.to_dict(), ensure_ascii=False) if record.error else None,
            "notes": json.dumps(list(record.notes), ensure_ascii=False),
        }
        columns = ", ".join(row)
        marks = ", ".join(f":{name}" for name in row)
        fixed = {"run_id", "owner", "token_source", "api_base", "started_at"}
        updates = ", ".join(f"{name} = excluded.{name}" for name in row if name not in fixed)
        # A run first written under its page session ("session:…") moves to the browser id once that is known.
        updates += ", owner = CASE WHEN runs.owner LIKE 'session:%' THEN excluded.owner ELSE runs.owner END"
        with self._lock:
            self._db.execute(f"INSERT INTO runs ({columns}) VALUES ({marks}) "
                             f"ON CONFLICT(run_id) DO UPDATE SET {updates}", row)

    def save_group(self, group_id: str, *, owner: str, prompt: str, settings: dict) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO groups(group_id, owner, created_at, prompt, settings) "
                             "VALUES (?, ?, ?, ?, ?)",
                             (group_id, owner, utc_now(), prompt, json.dumps(settings, ensure_ascii=False)))

    def set_label(self, run_id: str, label: str) -> None:
        """Change only what a run's status line says (e.g. why it waits), not when it last changed: an unfinished
        submit's ``updated_at`` is when its POST left, which is where its job is looked for."""
        with self._lock:
            self._db.execute("UPDATE runs SET label = ? WHERE run_id = ?", (label, run_id))

    def reassign_owner(self, old: str, new: str) -> int:
        """Give `old`'s runs to `new` (a page's first runs made before it told us its browser id)."""
        with self._lock:
            count = self._db.execute("UPDATE runs SET owner = ? WHERE owner = ?", (new, old)).rowcount
            self._db.execute("UPDATE groups SET owner = ? WHERE owner = ?", (new, old))
        return count

    def delete(self, run_ids: Iterable[str], owner: str | None) -> list[StoredRun]:
        """Delete these runs (only `owner`'s unless None) and return what was deleted, so the caller can remove
        their files. Unfinished runs are kept: their jobs are still followed (stop them first)."""
        ids = list(dict.fromkeys(run_ids))
        if not ids:
            return []
        with self._lock:
            rows = self._select(f"run_id IN ({', '.join('?' * len(ids))})", ids)
            gone = [r for r in rows if r.is_terminal and (owner is None or r.owner == owner)]
            self._db.executemany("DELETE FROM runs WHERE run_id = ?", [(r.run_id,) for r in gone])
            # Only the comparisons these runs belonged to: a group just saved whose tiles have not written their
            # first update yet has no run either, and must stay.
            groups = {r.record.group_id for r in gone if r.record.group_id}
            self._db.executemany("DELETE FROM groups WHERE group_id = ? AND NOT EXISTS "
                                 "(SELECT 1 FROM runs WHERE runs.group_id = groups.group_id)",
                                 [(g,) for g in groups])
        return gone

    # --- reading -----------------------------------------------------------------------------------------------

    def _select(self, where: str, args: Sequence[Any] = (), tail: str = "") -> list[StoredRun]:
        sql = f"SELECT * FROM runs WHERE {where} {tail}"
        return [self._stored(row) for row in self._db.execute(sql, list(args)).fetchall()]

    def get(self, run_id: str) -> StoredRun | None:
        with self._lock:
            rows = self._select("run_id = ?", [run_id])
        return rows[0] if rows else None

    def unfinished(self) -> list[StoredRun]:
        """Every run not yet terminal, oldest first: the jobs to follow again."""
        marks = ", ".join("?" * len(TERMINAL_PHASES))
        with self._lock:
            return self._select(f"phase NOT IN ({marks})", TERMINAL_PHASES, "ORDER BY started_at, rowid")

    def knows_job(self, job_id: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM runs WHERE job_id = ?", (job_id,)).fetchone() is not None

    def query(self, wanted: RunFilter) -> list[StoredRun]:
        """Runs matching `wanted`, newest first."""
        where, args = self._where(wanted)
        with self._lock:
            return self._select(where, [*args, wanted.limit], "ORDER BY started_at DESC, rowid DESC LIMIT ?")

    @staticmethod
    def _where(wanted: RunFilter) -> tuple[str, list[Any]]:
        clauses, args = ["1 = 1"], []
        if wanted.owner is not None:
            clauses.append("owner = ?")
            args.append(wanted.owner)
        for word in wanted.search.split():
            clauses.append("prompt LIKE ? ESCAPE '\\'")
            args.append("%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        if wanted.model_id:
            clauses.append("model_id = ?")
            args.append(wanted.model_id)
        if wanted.phase == "running":
            clauses.append(f"phase NOT IN ({', '.join('?' * len(TERMINAL_PHASES))})")
            args.extend(TERMINAL_PHASES)
        elif wanted.phase:
            clauses.append("phase = ?")
            args.append(wanted.phase)
        # Compared as instants, not as text: stored times and the caller's may differ in precision and offset
        # ("...T09:00:00+00:00", "...T09:00:00.000Z", "...T11:00:00+02:00" are the same moment).
        if wanted.since:
            clauses.append("julianday(started_at) >= julianday(?)")
            args.append(wanted.since)
        if wanted.until:
            if len(wanted.until) == 10:  # a date: the whole day
                clauses.append("julianday(started_at) < julianday(?, '+1 day')")
            else:
                clauses.append("julianday(started_at) <= julianday(?)")
            args.append(wanted.until)
        return " AND ".join(clauses), args

    def group(self, group_id: str) -> tuple[StoredGroup | None, list[StoredRun]]:
        """A comparison and its runs, in the order they were first written (not tile order: the group's settings
        keep `model_ids` in tile order)."""
        with self._lock:
            row = self._db.execute("SELECT * FROM groups WHERE group_id = ?", (group_id,)).fetchone()
            runs = self._select("group_id = ?", [group_id], "ORDER BY rowid")
        group = None if row is None else StoredGroup(row["group_id"], row["owner"], row["created_at"],
                                                     row["prompt"], json.loads(row["settings"] or "{}"))
        return group, runs

    def totals(self, owner: str | None, since: str | None = None) -> tuple[int, float]:
        """(runs, dollars spent) for `owner` (None: everyone) since an ISO time; unknown costs count as 0."""
        clauses, args = ["1 = 1"], []
        if owner is not None:
            clauses.append("owner = ?")
            args.append(owner)
        if since:
            clauses.append("started_at >= ?")
            args.append(since)
        with self._lock:
            count, spent = self._db.execute(
                f"SELECT COUNT(*), COALESCE(SUM(cost_usd), 0) FROM runs WHERE {' AND '.join(clauses)}", args
            ).fetchone()
        return int(count), float(spent)

    def spent(self, token_source: str, since: str | None) -> float:
        """Dollars spent by runs made with one kind of token (e.g. the owner's) since an ISO time."""
        with self._lock:
            row = self._db.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM runs WHERE token_source = ? AND "
                                   "started_at >= ?", (token_source, since or "")).fetchone()
        return float(row[0])

    @staticmethod
    def _stored(row: sqlite3.Row) -> StoredRun:
        size = (row["image_width"], row["image_height"]) if row["image_width"] is not None else None
        record = RunRecord(
            run_id=row["run_id"], model_id=row["model_id"], model_name=row["model_id"],
            request_path=row["request_path"], prompt=row["prompt"], params=json.loads(row["body"]),
            seed=row["seed"], phase=Phase(row["phase"]), status=row["status"], job_id=row["job_id"],
            backend=row["backend"], started_at=row["started_at"], queue_s=row["queue_s"], run_s=row["run_s"],
            total_s=row["total_s"], cost_usd=row["cost_usd"], priced=bool(row["priced"]),
            image_path=row["image_path"], image_size=size, error=_error_from(row["error"]),
            notes=tuple(json.loads(row["notes"] or "[]")), group_id=row["group_id"],
        )
        try:
            source = TokenSource(row["token_source"])
        except ValueError:
            source = TokenSource.USER  # unknown: treat as the most restricted kind
        return StoredRun(record, row["owner"], source, row["api_base"], row["label"], row["updated_at"])


def _statements(script: str) -> list[str]:
    """A migration split into statements (sqlite3's executescript would commit mid-migration). SQLite itself says
    where a statement ends, so a ';' or '--' inside a string or a trigger's body does not cut it."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())  # a trailing comment, or an unfinished statement (executing it says so)
    return statements
