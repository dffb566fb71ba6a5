"""What one run looks like from the outside: a stream of small immutable updates.

The Generate tab renders one stream, the Compare tab merges several, and history will store the terminal ones,
so this type is written once here and never re-invented per tab.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from playground.krea.errors import (
    BadImage,
    BadRequest,
    JobCancelled,
    JobFailed,
    JobTimeout,
    KreaError,
    ModelRetired,
    NotFound,
    OutOfCredits,
    RateLimited,
    ServerError,
    Timeout,
    TransportError,
    Unauthorized,
)
from playground.catalog import ValidationFailed

# Statuses that mean "a worker has the job": the queue part of the wait ends at the first of these.
RUNNING_STATUSES = frozenset({"processing", "sampling", "intermediate-complete", "completed"})

# Phases a run passes through on our side, around Krea's own job statuses.
PHASE_SUBMITTING = "submitting"
PHASE_FOLLOWING = "following"
PHASE_DOWNLOADING = "downloading"
PHASE_DONE = "done"
PHASE_FAILED = "failed"
PHASE_CANCELLED = "cancelled"
TERMINAL_PHASES = frozenset({PHASE_DONE, PHASE_FAILED, PHASE_CANCELLED})


@dataclass(frozen=True)
class RunError:
    """A failure as the user should read it: what happened and what to do, plus the field when one is to blame."""

    kind: str  # invalid | unauthorized | out_of_credits | rate_limited | retired | not_found | server |
    # network | timeout | job_failed | cancelled | bad_image | internal
    message: str
    field: str | None = None
    retry_after: float | None = None
    replacement: str | None = None


@dataclass(frozen=True)
class RunTimings:
    """Wall-clock seconds seen by this client, split into waiting in line and running on a worker."""

    elapsed: float = 0.0
    queue: float | None = None  # submit accepted -> first "running" status seen (None while still waiting)
    run: float | None = None  # first "running" status -> terminal (live value while running)
    submit: float | None = None  # our click -> Krea accepted the job (network + validation)


@dataclass(frozen=True)
class RunUpdate:
    """One change in a run. `image_path` is set only on the final update of a successful run."""

    model_id: str
    phase: str
    label: str  # plain words for the status line
    status: str | None = None  # Krea's own job status, when known
    job_id: str | None = None
    seed: int | None = None
    timings: RunTimings = field(default_factory=RunTimings)
    preview: str | None = None  # path of a small JPEG while the job shows previews
    image_path: str | None = None
    image_size: tuple[int, int] | None = None
    error: RunError | None = None
    params: dict | None = None  # exactly what was sent

    @property
    def is_terminal(self) -> bool:
        return self.phase in TERMINAL_PHASES

    def evolve(self, **changes) -> "RunUpdate":
        return replace(self, **changes)


def run_error_from(exc: BaseException) -> RunError:
    """Map any client or validation failure to the message a person can act on."""
    if isinstance(exc, ValidationFailed):
        return RunError("invalid", str(exc), field=getattr(exc, "field", None))
    if not isinstance(exc, KreaError):
        return RunError("internal", f"Something went wrong in the playground: {exc}. Please try again.")
    message = exc.user_message
    kinds: list[tuple[type, str]] = [
        (BadRequest, "invalid"),
        (Unauthorized, "unauthorized"),
        (OutOfCredits, "out_of_credits"),
        (RateLimited, "rate_limited"),
        (ModelRetired, "retired"),
        (NotFound, "not_found"),
        (JobTimeout, "timeout"),
        (Timeout, "timeout"),
        (ServerError, "server"),
        (TransportError, "network"),
        (JobFailed, "job_failed"),
        (JobCancelled, "cancelled"),
        (BadImage, "bad_image"),
    ]
    kind = next((name for cls, name in kinds if isinstance(exc, cls)), "server")
    return RunError(
        kind,
        message,
        field=getattr(exc, "field", None),
        retry_after=getattr(exc, "retry_after", None),
        replacement=getattr(exc, "replacement", None),
    )
