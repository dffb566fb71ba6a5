"""Every tunable of the playground, read from the environment in one place.

Code never reads ``os.environ`` elsewhere: it receives a :class:`Settings` (or one of its parts) and tests
build their own with :func:`dataclasses.replace` to make polling fast or deadlines short.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_ROOT / "assets"
CATALOG_PATH = ASSETS_DIR / "models.json"
OPENAPI_SNAPSHOT_PATH = ASSETS_DIR / "openapi-2026-05.json"

KREA_API_BASE = "https://api.krea.ai"
# Result images from the real API live on Krea's CDN (gen.krea.ai). The download session only fetches from
# these host suffixes (plus the API host itself), so a hostile URL in a job can never make us fetch elsewhere.
KREA_DOWNLOAD_HOST_SUFFIXES = ("krea.ai",)


@dataclass(frozen=True)
class RetryPolicy:
    """How GET/DELETE calls are retried (urllib3 ``Retry``). POST submit only retries what never reached Krea."""

    total: int = 3
    backoff_factor: float = 0.5  # 0.5 s, 1 s, 2 s ... between attempts
    backoff_max: float = 8.0
    backoff_jitter: float = 0.25  # up to +0.25 s random, so many clients do not retry in lockstep
    retry_after_cap: float = 60.0  # a longer Retry-After is not waited for inside one call; the caller is told
    # Never 429: a rate limit goes back to the caller at once, to be waited out where Stop can end it.
    status_forcelist: tuple[int, ...] = (408, 500, 502, 503, 504)


@dataclass(frozen=True)
class PollPolicy:
    """How a job is followed: first wait, growth per poll, ceiling, and an overall deadline."""

    initial_interval: float = 1.0
    backoff: float = 1.25
    max_interval: float = 4.0
    deadline: float = 600.0  # ten minutes: Krea's own guidance for image jobs
    # Around the moment a job is expected to end (see follow.Expectation) polls come this often: the floor of
    # the schedule, four a second at most per job. Before that window polls are sparse, after it they back off.
    dense_interval: float = 0.25
    # A model's typical seconds (catalog) times this, at least `expected_floor`, is the first guess at a job's
    # length before this app has timed any: 1 against Krea; the sandbox's speed factor and floor in sandbox mode.
    expected_scale: float = 1.0
    expected_floor: float = 0.0
    # A 404 or an unusable answer (not JSON, not a job) is polled again this many times in a row before the
    # follower gives up: a job Krea just created can briefly be unknown, and one garbled answer proves nothing.
    bad_answer_retries: int = 3


@dataclass(frozen=True)
class ClientSettings:
    """Everything :class:`playground.krea.client.KreaClient` needs besides the token."""

    base_url: str = KREA_API_BASE
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    poll: PollPolicy = field(default_factory=PollPolicy)
    # The TOTAL wall time one image download may take: connect, redirects, retries and every read. A Stop
    # ends a download sooner (within about a second).
    download_timeout: float = 60.0
    download_max_bytes: int = 64 * 1024 * 1024
    # Krea's JSON answers (and error pages) are read up to this size; a larger one is refused, not buffered.
    max_answer_bytes: int = 4 * 1024 * 1024
    # Hosts (exact or suffix) a result image may be downloaded from. Empty means: only the API host.
    download_host_suffixes: tuple[str, ...] = KREA_DOWNLOAD_HOST_SUFFIXES
    user_agent: str = "krea-playground/0.1"
    # Webhook mode: jobs are submitted with X-Webhook-URL set to this (the app's own receiver), and followed by
    # waiting for Krea's call instead of polling (slow safety-net polls remain). None: polling only.
    webhook_url: str | None = field(default=None, repr=False)  # it carries the receiver's secret


@dataclass(frozen=True)
class SandboxSettings:
    """The local Krea-compatible server the app starts when no token is set."""

    host: str = "127.0.0.1"
    port: int = 0  # 0: pick a free port
    # Job durations are the catalog's expected seconds times this factor, never less than min_job_seconds.
    # 0.06 turns GPT Image's ~72 s into ~4 s and Flux's ~7 s into the 1.5 s floor: real ordering, demo speed.
    speed: float = 0.06
    min_job_seconds: float = 1.5
    concurrency_limit: int = 8
    backlog_limit: int = 32
    required_token: str | None = None  # None: any Bearer token is accepted
    webhook_allow_remote: bool = False  # webhooks go to loopback targets only unless this is set
    invalid_body_status: int = 400  # Krea documents 400; some integrators saw 422
    balance_usd: float | None = None  # None: unlimited. Otherwise 402 once spent.
    keep_jobs: int = 2000  # oldest finished jobs (and their images) are dropped past this
    # POST|GET|DELETE /_sandbox/faults lets any caller fail every job: routed only when switched on
    # (SANDBOX_FAULTS=1, `python -m playground.sandbox --faults`, `python app.py --sandbox-faults`).
    faults_enabled: bool = False


@dataclass(frozen=True)
class AppSettings:
    """The Gradio app: where it listens, how many runs at once, where finished images go."""

    host: str = "127.0.0.1"
    port: int = 7860
    share: bool = False
    # Runs watched at once per event. Watching is async (no thread per run), so this can be high: a hundred slow
    # jobs must not hold the slots another visitor needs (head-of-line blocking).
    concurrency_limit: int = 256
    # Gradio's queue runs at most this many events at once, across all events (its `active_jobs`), and sizes its
    # thread pool for sync handlers with it. Watching a run is async, so this only needs to exceed the runs
    # watched at once plus a margin for the short sync handlers.
    max_threads: int = 320
    max_upload_mb: int = 64  # the largest file a visitor may upload (a PNG to read, a comparison ZIP to open)
    # Logins for the whole page and API ("user:password" pairs). Empty: open. Never printed (repr=False).
    auth: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    # Hosted with KREA_API_TOKEN: visitors run on the owner's account only when this is switched on; otherwise
    # each visitor pastes their own token. With it, `spend_cap_usd` bounds what they all spend per UTC day.
    share_owner_token: bool = False
    spend_cap_usd: float | None = None
    session_run_limit: int = 16  # runs (Compare tiles count one each) one tab or script may have going at once
    output_dir: Path = PROJECT_ROOT / "outputs"
    data_dir: Path = PROJECT_ROOT / "data"  # the run store (runs.sqlite3): journal and history
    # Hosted: strangers share the app, so each visitor's History shows only their own runs. Local: the owner of
    # the machine sees every run. None: decided from how the app is exposed (see `is_hosted`).
    hosted: bool | None = None
    # The arena's leaderboard can count every visitor's votes (besides "mine"): always on the owner's machine;
    # hosted, only when the operator switches this on (votes are anonymous, but they are other people's).
    shared_leaderboard: bool = False
    # Temp files (preview JPEGs, Compare exports, opened bundles) older than this are removed by the sweeper
    # (playground.cleanup) every temp_sweep_interval_s. Keep it well above the job deadline.
    temp_max_age_s: float = 24 * 3600.0
    temp_sweep_interval_s: float = 3600.0
    # The address the world reaches this app at (e.g. https://user-space.hf.space). Needed for webhook mode
    # against Krea; on a Space it is read from SPACE_HOST.
    public_url: str | None = None
    # Webhook mode (see playground.krea.webhooks): "auto" uses it against Krea whenever public_url is known;
    # "on" also in sandbox mode (the sandbox calls the app on loopback; no previews are polled then); "off".
    webhooks: str = "auto"
    # The sandbox is polled on Krea's schedule (what is measured is what Krea would get), with a shorter deadline:
    # its jobs last seconds.
    sandbox_poll: PollPolicy = field(default_factory=lambda: PollPolicy(deadline=120.0))


def is_hosted(app: AppSettings, env: dict[str, str] | None = None) -> bool:
    """Whether strangers can reach the app: a Hugging Face Space, a share link, or a non-loopback interface."""
    if app.hosted is not None:
        return app.hosted
    env = os.environ if env is None else env
    return bool(env.get("SPACE_ID")) or app.share or app.host not in ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Settings:
    token: str | None = field(default=None, repr=False)  # never printed, never logged
    use_sandbox: bool = True
    client: ClientSettings = field(default_factory=ClientSettings)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    app: AppSettings = field(default_factory=AppSettings)

    @property
    def backend_name(self) -> str:
        return "sandbox" if self.use_sandbox else "krea"


def _env_float(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc


def _env_int(env: dict[str, str], name: str, default: int) -> int:
    return int(_env_float(env, name, default))


def _env_positive(env: dict[str, str], name: str, default: float) -> float:
    value = _env_float(env, name, default)
    if not value > 0:
        raise ValueError(f"{name} must be a number of seconds above 0, got {env.get(name)!r}")
    return value


def _env_bool(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def parse_auth(text: str) -> tuple[tuple[str, str], ...]:
    """'alice:pw1,bob:pw2' -> (("alice", "pw1"), ("bob", "pw2")); a pair without a password is an error."""
    pairs = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        user, sep, password = item.partition(":")
        if not sep or not user.strip() or not password:
            raise ValueError("PLAYGROUND_AUTH / --auth takes user:password pairs separated by commas "
                             f"(got an entry for {user.strip()[:20]!r} without a password).")
        pairs.append((user.strip(), password))
    return tuple(pairs)


def token_from_env(env: dict[str, str] | None = None) -> str | None:
    """The Krea token from ``KREA_API_TOKEN`` (curl docs, Krea skills) or ``KREA_API_KEY`` (SDK docs)."""
    env = os.environ if env is None else env
    for name in ("KREA_API_TOKEN", "KREA_API_KEY"):
        value = (env.get(name) or "").strip()
        if value:
            return value
    return None


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build the settings from environment variables (see the README's configuration table)."""
    env = dict(os.environ if env is None else env)
    token = token_from_env(env)
    sandbox_flag = env.get("PLAYGROUND_SANDBOX", "auto").strip().lower()
    use_sandbox = token is None if sandbox_flag in {"", "auto"} else sandbox_flag in {"1", "true", "yes", "on"}

    poll = PollPolicy(
        initial_interval=_env_float(env, "KREA_POLL_INITIAL", PollPolicy.initial_interval),
        backoff=_env_float(env, "KREA_POLL_BACKOFF", PollPolicy.backoff),
        max_interval=_env_float(env, "KREA_POLL_MAX", PollPolicy.max_interval),
        dense_interval=_env_positive(env, "KREA_POLL_DENSE", PollPolicy.dense_interval),
        deadline=_env_float(env, "KREA_JOB_DEADLINE", PollPolicy.deadline),
    )
    client = ClientSettings(
        base_url=(env.get("KREA_API_BASE") or KREA_API_BASE).rstrip("/"),
        connect_timeout=_env_float(env, "KREA_CONNECT_TIMEOUT", ClientSettings.connect_timeout),
        read_timeout=_env_float(env, "KREA_READ_TIMEOUT", ClientSettings.read_timeout),
        retry=RetryPolicy(total=_env_int(env, "KREA_RETRIES", RetryPolicy.total)),
        poll=poll,
        download_timeout=_env_positive(env, "KREA_DOWNLOAD_TIMEOUT", ClientSettings.download_timeout),
        max_answer_bytes=_env_int(env, "KREA_MAX_ANSWER_BYTES", ClientSettings.max_answer_bytes),
    )
    sandbox = SandboxSettings(
        port=_env_int(env, "SANDBOX_PORT", SandboxSettings.port),
        speed=_env_float(env, "SANDBOX_SPEED", SandboxSettings.speed),
        min_job_seconds=_env_float(env, "SANDBOX_MIN_JOB_SECONDS", SandboxSettings.min_job_seconds),
        concurrency_limit=_env_int(env, "SANDBOX_CONCURRENCY", SandboxSettings.concurrency_limit),
        backlog_limit=_env_int(env, "SANDBOX_BACKLOG", SandboxSettings.backlog_limit),
        faults_enabled=_env_bool(env, "SANDBOX_FAULTS", SandboxSettings.faults_enabled),
    )
    app = AppSettings(
        host=env.get("GRADIO_SERVER_NAME") or AppSettings.host,
        port=_env_int(env, "GRADIO_SERVER_PORT", AppSettings.port),
        share=_env_bool(env, "PLAYGROUND_SHARE", False),
        concurrency_limit=_env_int(env, "PLAYGROUND_CONCURRENCY", AppSettings.concurrency_limit),
        session_run_limit=_env_int(env, "PLAYGROUND_SESSION_RUNS", AppSettings.session_run_limit),
        max_upload_mb=_env_int(env, "PLAYGROUND_MAX_UPLOAD_MB", AppSettings.max_upload_mb),
        share_owner_token=_env_bool(env, "PLAYGROUND_SHARE_OWNER_TOKEN", False),
        spend_cap_usd=_env_float(env, "PLAYGROUND_SPEND_CAP_USD", -1.0) if (env.get("PLAYGROUND_SPEND_CAP_USD") or
                                                                           "").strip() else None,
        auth=parse_auth(env.get("PLAYGROUND_AUTH") or ""),
        output_dir=Path(env.get("PLAYGROUND_OUTPUT_DIR") or AppSettings().output_dir),
        data_dir=Path(env.get("PLAYGROUND_DATA_DIR") or AppSettings().data_dir),
        hosted=_env_bool(env, "PLAYGROUND_HOSTED", False) if (env.get("PLAYGROUND_HOSTED") or "").strip() else None,
        shared_leaderboard=_env_bool(env, "PLAYGROUND_SHARED_LEADERBOARD", False),
        temp_max_age_s=_env_positive(env, "PLAYGROUND_TEMP_MAX_AGE", AppSettings.temp_max_age_s),
        temp_sweep_interval_s=_env_positive(env, "PLAYGROUND_TEMP_SWEEP_INTERVAL", AppSettings.temp_sweep_interval_s),
        public_url=public_url_from_env(env),
        webhooks=_env_choice(env, "PLAYGROUND_WEBHOOKS", ("auto", "on", "off"), AppSettings.webhooks),
    )
    return Settings(token=token, use_sandbox=use_sandbox, client=client, sandbox=sandbox, app=app)


def public_url_from_env(env: dict[str, str]) -> str | None:
    """PLAYGROUND_PUBLIC_URL, else a Hugging Face Space's own address (SPACE_HOST), else None."""
    explicit = (env.get("PLAYGROUND_PUBLIC_URL") or "").strip().rstrip("/")
    if explicit:
        if not explicit.startswith(("http://", "https://")):
            raise ValueError(f"PLAYGROUND_PUBLIC_URL must start with http:// or https:// (got {explicit[:40]!r})")
        return explicit
    space_host = (env.get("SPACE_HOST") or "").strip()
    return f"https://{space_host}" if space_host else None


def _env_choice(env: dict[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = (env.get(name) or "").strip().lower() or default
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)} (got {value[:20]!r})")
    return value


def replace(obj, **changes):
    """``dataclasses.replace`` re-exported so callers need one import for tuning settings in tests."""
    return dataclasses.replace(obj, **changes)
