"""The run store on its own: schema and migrations, upserts, History's filters, owners, groups, totals, deletes,
and no token anywhere in the database files."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

import playground.store as store_module
from playground.catalog import load_catalog
from playground.krea.errors import ErrorKind
from playground.runs import Phase, RunError, RunRecord
from playground.service import GenerationRequest, RunService
from playground.sandbox import SandboxServer
from playground.sessions import Backend, SessionRegistry
from playground.settings import ClientSettings, PollPolicy, SandboxSettings
from playground.store import DB_NAME, MIGRATIONS, RunFilter, RunStore, TokenSource

CATALOG = load_catalog()
FLUX = "bfl/flux-1-dev"
SEEDREAM = "bytedance/seedream-4"


def record(run_id: str, *, prompt: str = "a red fox", model_id: str = FLUX, phase: Phase = Phase.DONE,
           started_at: str = "2026-05-01T12:00:00+00:00", job_id: str | None = "job", cost: float | None = 0.01,
           group_id: str | None = None, image_path: str | None = None) -> RunRecord:
    return RunRecord(
        run_id=run_id, model_id=model_id, model_name=model_id, request_path=f"/generate/image/{model_id}",
        prompt=prompt, params={"prompt": prompt, "seed": 1}, seed=1, phase=phase,
        status="completed" if phase == Phase.DONE else "processing", job_id=job_id, backend="krea",
        started_at=started_at, queue_s=0.5, run_s=2.0, total_s=3.0, cost_usd=cost, priced=True,
        image_path=image_path, image_size=(512, 512) if image_path else None,
        error=RunError(ErrorKind.JOB_FAILED, "it broke") if phase == Phase.FAILED else None, group_id=group_id,
    )


@pytest.fixture
def store(tmp_path):
    s = RunStore(tmp_path)
    yield s
    s.close()


def save(store: RunStore, rec: RunRecord, owner: str = "alice", source: TokenSource = TokenSource.ENV) -> None:
    store.save(rec, owner=owner, token_source=source, api_base="http://krea.test")


def ids(runs) -> list[str]:
    return [r.run_id for r in runs]


# --- schema --------------------------------------------------------------------------------------------------

def test_a_new_store_is_at_the_latest_schema_in_wal_mode(tmp_path, store):
    assert store.path == tmp_path / DB_NAME and store.path.exists()
    assert store.schema_version == len(MIGRATIONS)
    with sqlite3.connect(store.path) as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # a property of the file
        assert other.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_reopening_runs_no_migration_again_and_keeps_the_runs(tmp_path):
    first = RunStore(tmp_path)
    save(first, record("r1"))
    first.close()
    second = RunStore(tmp_path)  # CREATE TABLE again would raise "table runs already exists"
    try:
        assert second.schema_version == len(MIGRATIONS) and second.get("r1") is not None
    finally:
        second.close()


def test_a_file_from_a_newer_playground_is_refused_with_a_clear_message(tmp_path):
    RunStore(tmp_path).close()
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(RuntimeError) as refused:
        RunStore(tmp_path)
    message = str(refused.value)
    assert "newer playground" in message and str(tmp_path / DB_NAME) in message
    assert "PLAYGROUND_DATA_DIR" in message


def test_a_failing_migration_leaves_the_file_at_the_last_good_version(tmp_path, monkeypatch):
    RunStore(tmp_path).close()
    broken = "CREATE TABLE later_table (run_id TEXT);\nTHIS IS NOT SQL;"
    monkeypatch.setattr(store_module, "MIGRATIONS", (*MIGRATIONS, broken))
    with pytest.raises(sqlite3.OperationalError):
        RunStore(tmp_path)
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert db.execute("SELECT name FROM sqlite_master WHERE name = 'later_table'").fetchone() is None


def test_a_migration_may_hold_dashes_in_text_and_semicolons_in_a_trigger(tmp_path, monkeypatch):
    # The migration splitter once cut every line at "--" (even inside a string) and at every ";" (even inside
    # a trigger's body): a later migration would have been mangled.
    later = """
    ALTER TABLE runs ADD COLUMN rating TEXT NOT NULL DEFAULT '--';  -- '--': not rated yet
    CREATE TABLE deleted (run_id TEXT NOT NULL);
    CREATE TRIGGER runs_deleted AFTER DELETE ON runs BEGIN
        INSERT INTO deleted(run_id) VALUES (old.run_id);
    END;
    """
    monkeypatch.setattr(store_module, "MIGRATIONS", (*MIGRATIONS, later))
    s = RunStore(tmp_path)
    try:
        assert s.schema_version == len(MIGRATIONS) + 1
        save(s, record("r1"))
        assert s.delete(["r1"], None)
        with sqlite3.connect(s.path) as db:
            assert db.execute("SELECT run_id FROM deleted").fetchall() == [("r1",)]
            assert db.execute("SELECT dflt_value FROM pragma_table_info('runs') WHERE name = 'rating'"
                              ).fetchone()[0] == "'--'"
    finally:
        s.close()


def test_meta_values_are_made_once_and_kept_across_reopen(tmp_path):
    s = RunStore(tmp_path)
    assert s.meta("secret", lambda: "first") == "first"
    assert s.meta("secret", lambda: "second") == "first"
    s.close()
    s = RunStore(tmp_path)
    try:
        assert s.meta("secret", lambda: "third") == "first"
    finally:
        s.close()


# --- writing -------------------------------------------------------------------------------------------------

def test_an_update_keeps_owner_token_kind_api_base_and_start_time(store):
    store.save(record("r1", phase=Phase.FOLLOWING, cost=None), owner="alice", token_source=TokenSource.USER,
               api_base="http://a.test", label="Waiting")
    later = record("r1", phase=Phase.DONE, started_at="2030-01-01T00:00:00+00:00", image_path="/x.png")
    store.save(later, owner="mallory", token_source=TokenSource.ENV, api_base="http://b.test", label="Completed")
    stored = store.get("r1")
    assert (stored.owner, stored.token_source, stored.api_base) == ("alice", TokenSource.USER, "http://a.test")
    assert stored.record.started_at == "2026-05-01T12:00:00+00:00"
    assert stored.record.phase == Phase.DONE and stored.label == "Completed"
    assert stored.record.image_path == "/x.png" and stored.record.image_size == (512, 512)
    assert store.totals(None) == (1, 0.01)  # one row, not two


def test_a_stored_run_reads_back_as_the_record_it_was(store):
    rec = record("r1", phase=Phase.FAILED, prompt="un renard roux — 狐", group_id="g1")
    save(store, rec)
    back = store.get("r1").record
    assert back.prompt == rec.prompt and back.params == rec.params and back.error == rec.error
    assert (back.queue_s, back.run_s, back.total_s, back.cost_usd) == (0.5, 2.0, 3.0, 0.01)
    assert back.group_id == "g1" and back.job_id == "job" and back.phase == Phase.FAILED


def test_unfinished_lists_only_runs_that_are_not_terminal_oldest_first(store):
    save(store, record("late", phase=Phase.FOLLOWING, started_at="2026-05-01T12:00:02+00:00"))
    save(store, record("done", phase=Phase.DONE))
    save(store, record("early", phase=Phase.SUBMITTING, job_id=None, started_at="2026-05-01T12:00:01+00:00"))
    save(store, record("cancelled", phase=Phase.CANCELLED))
    assert ids(store.unfinished()) == ["early", "late"]
    assert store.knows_job("job") and not store.knows_job("other")


def test_many_threads_write_at_once(store):
    def write(n: int) -> None:
        for i in range(20):
            save(store, record(f"t{n}-{i}", job_id=f"j{n}-{i}"))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.totals(None)[0] == 160


# --- History's filters ---------------------------------------------------------------------------------------

@pytest.fixture
def history(store):
    save(store, record("fox", prompt="A Red FOX in snow", started_at="2026-05-01T08:00:00+00:00"))
    save(store, record("pct", prompt="100% cotton_shirt", started_at="2026-05-02T09:00:00+00:00"))
    save(store, record("plain", prompt="1000 cotton shirts", model_id=SEEDREAM,
                       started_at="2026-05-02T23:59:59+00:00"))
    save(store, record("going", prompt="a fox at dusk", phase=Phase.FOLLOWING, cost=None,
                       started_at="2026-05-03T00:00:00.250+00:00"), owner="bob")
    save(store, record("broken", prompt="a fox", phase=Phase.FAILED, started_at="2026-05-03T10:00:00+00:00"),
         owner="bob")
    return store


@pytest.mark.parametrize("search, expected", [
    ("fox", ["broken", "going", "fox"]),           # newest first
    ("red fox", ["fox"]),                           # every word must appear
    ("snow FOX", ["fox"]),                          # in any order, any case
    ("100%", ["pct"]),                              # % is a character, not a wildcard
    ("cotton_shirt", ["pct"]),                      # _ too ("cotton shirt" would match a wildcard _)
    ("%", ["pct"]),
    ("_", ["pct"]),
    ("cotton", ["plain", "pct"]),
    ("zebra", []),
])
def test_search_words_are_taken_literally(history, search, expected):
    assert ids(history.query(RunFilter(search=search))) == expected


def test_model_and_phase_filters(history):
    assert ids(history.query(RunFilter(model_id=SEEDREAM))) == ["plain"]
    assert ids(history.query(RunFilter(phase="done"))) == ["plain", "pct", "fox"]
    assert ids(history.query(RunFilter(phase="failed"))) == ["broken"]
    assert ids(history.query(RunFilter(phase="running"))) == ["going"]
    assert ids(history.query(RunFilter(phase="running", search="dusk", model_id=FLUX))) == ["going"]


@pytest.mark.parametrize("since, until, expected", [
    ("2026-05-02", None, ["broken", "going", "plain", "pct"]),
    (None, "2026-05-02", ["plain", "pct", "fox"]),   # a date means the whole day, its last second included
    ("2026-05-02", "2026-05-02", ["plain", "pct"]),
    ("2026-05-03", "2026-05-03", ["broken", "going"]),
    ("2026-05-02T09:00:00", "2026-05-02T09:00:00", ["pct"]),  # a date-time is inclusive at both ends
    ("2026-05-02T09:00:00Z", "2026-05-02T09:00:00Z", ["pct"]),
    ("2026-05-02T11:00:00+02:00", None, ["broken", "going", "plain", "pct"]),  # 09:00 UTC
    (None, "2026-05-01", ["fox"]),
    ("2026-05-04", None, []),
])
def test_since_and_until(history, since, until, expected):
    assert ids(history.query(RunFilter(since=since, until=until))) == expected


def test_owner_scoping_and_limit(history):
    assert ids(history.query(RunFilter(owner="bob"))) == ["broken", "going"]
    assert ids(history.query(RunFilter(owner="alice", search="fox"))) == ["fox"]
    assert ids(history.query(RunFilter(owner="nobody"))) == []
    assert len(history.query(RunFilter())) == 5 and ids(history.query(RunFilter(limit=2))) == ["broken", "going"]


def test_totals_count_runs_and_known_costs_per_owner_since_a_time(history):
    count, spent = history.totals(None)
    assert count == 5 and spent == pytest.approx(0.04)  # the running one has no cost yet
    assert history.totals("alice") == (3, pytest.approx(0.03))
    assert history.totals("bob", since="2026-05-03T05:00:00") == (1, pytest.approx(0.01))
    assert history.totals("carol") == (0, 0.0)


# --- groups and deletes --------------------------------------------------------------------------------------

def test_a_group_lists_its_runs_in_the_order_they_started(store):
    store.save_group("g1", owner="alice", prompt="a fox", settings={"seed": 7, "model_ids": [FLUX, SEEDREAM]})
    store.save_group("g1", owner="mallory", prompt="other", settings={})  # made once: not replaced
    for run_id in ("tile-b", "tile-a", "tile-c"):  # the order the tiles' first writes landed
        save(store, record(run_id, group_id="g1", phase=Phase.SUBMITTING, job_id=None))
    save(store, record("tile-a", group_id="g1", phase=Phase.DONE))  # an update does not move it
    save(store, record("alone"))
    group, runs = store.group("g1")
    assert group.owner == "alice" and group.prompt == "a fox" and group.settings["seed"] == 7
    assert ids(runs) == ["tile-b", "tile-a", "tile-c"]
    assert store.group("missing") == (None, [])


def test_delete_takes_only_finished_runs_of_their_owner_and_prunes_empty_groups(store):
    store.save_group("g1", owner="alice", prompt="p", settings={})
    store.save_group("g2", owner="alice", prompt="p", settings={})
    save(store, record("a-done", group_id="g1"))
    save(store, record("a-failed", phase=Phase.FAILED, group_id="g2"))
    save(store, record("a-running", phase=Phase.FOLLOWING, group_id="g2"))
    save(store, record("b-done"), owner="bob")
    gone = store.delete(["a-done", "a-failed", "a-running", "b-done", "a-done", "nope"], owner="alice")
    assert sorted(ids(gone)) == ["a-done", "a-failed"]
    assert store.get("a-running") is not None and store.get("b-done") is not None
    assert store.group("g1")[0] is None  # no run left
    assert store.group("g2")[0] is not None  # its running tile is still there
    assert ids(store.delete(["b-done"], owner=None)) == ["b-done"]  # the local owner may delete anyone's
    assert store.delete([], owner=None) == []


def test_delete_leaves_a_comparison_that_has_not_written_a_run_yet(store):
    # start_comparison saves the group, then each tile journals its first update: a delete from another page
    # in between must not drop the new comparison.
    store.save_group("fresh", owner="alice", prompt="p", settings={})
    save(store, record("old"))
    store.delete(["old"], owner=None)
    assert store.group("fresh")[0] is not None


# --- secrets -------------------------------------------------------------------------------------------------

CANARY = "canary-token-5f1d2c9e"


def test_no_token_lands_in_the_database_files(tmp_path):
    """Runs made with the operator's token and with a pasted one, good and refused: no byte of either token
    in runs.sqlite3, its -wal or its -shm file."""
    poll = PollPolicy(initial_interval=0.03, backoff=1.2, max_interval=0.1, deadline=20)
    with SandboxServer(SandboxSettings(speed=0.001, min_job_seconds=0.2, required_token=CANARY), CATALOG) as sandbox:
        settings = ClientSettings(base_url=sandbox.base_url, download_host_suffixes=(), poll=poll)
        backend = Backend("krea", settings, shared_token=CANARY, krea_settings=settings)
        store = RunStore(tmp_path / "data")
        service = RunService(CATALOG, backend, SessionRegistry(backend), tmp_path / "out", store)
        request = GenerationRequest(FLUX, f"a lighthouse {CANARY[:6]}", params={"width": 512, "height": 512})
        finals = [list(service.start_generation("env-session", request))[-1]]
        service.sessions.use_token("pasted", CANARY)
        finals.append(list(service.start_generation("pasted", request))[-1])
        service.sessions.use_token("wrong", CANARY + "-wrong")
        finals.append(list(service.start_generation("wrong", request))[-1])
        deadline = time.monotonic() + 5
        while any(service.is_live(f.run_id) for f in finals) and time.monotonic() < deadline:
            time.sleep(0.02)  # the last write of each run is on disk before it leaves _live
    assert [f.phase for f in finals] == [Phase.DONE, Phase.DONE, Phase.FAILED]
    assert finals[2].error.kind == ErrorKind.UNAUTHORIZED
    assert {r.token_source for r in store.query(RunFilter())} == {TokenSource.ENV, TokenSource.USER}
    files = [p for p in (tmp_path / "data").iterdir() if p.name.startswith(DB_NAME)]
    assert any(p.name.endswith("-wal") for p in files)  # the writes are still in the WAL: check it too
    for path in files:
        data = path.read_bytes()
        assert CANARY.encode() not in data, path.name
        assert CANARY.encode("utf-16-le") not in data, path.name
    store.close()
    assert CANARY.encode() not in (tmp_path / "data" / DB_NAME).read_bytes()  # after the checkpoint as well
