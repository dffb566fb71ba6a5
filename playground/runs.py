"""What one run looks like from the outside: a stream of small immutable updates, and the record it ends in.

The Generate tab renders one stream, Compare merges several, and every table, chart, CSV, ZIP manifest and API
answer reads the :class:`RunRecord` made from a run's last update. These types and their vocabularies (phases,
error kinds) are written once, here and in :mod:`playground.krea.errors`, and never re-invented per tab.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from playground.catalog import Model, ValidationFailed, estimate_usd
from playground.krea.errors import ErrorKind, KreaError
from playground.krea.jobs import TERMINAL_STATUSES, JobStatus

# Krea statuses that mean "a worker has the job": the queue part of the wait ends at the first of these.
RUNNING_STATUSES = frozenset({JobStatus.PROCESSING, JobStatus.SAMPLING, JobStatus.INTERMEDIATE_COMPLETE,
                              JobStatus.COMPLETED})


class Phase(StrEnum):
    """Where a run is on our side, around Krea's own job statuses."""

    SUBMITTING = "submitting"  # checking, sending, or waiting to retry a refused (429) submit
    FOLLOWING = "following"  # Krea has the job; we follow its statuses
    DOWNLOADING = "downloading"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (Phase.DONE, Phase.FAILED, Phase.CANCELLED)


PHASE_WORDS = {Phase.DONE: "Completed", Phase.FAILED: "Failed", Phase.CANCELLED: "Cancelled"}


@dataclass(frozen=True)
class RunError:
    """A failure as the user should read it: what happened and what to do, plus the field when one is to blame."""

    kind: ErrorKind
    message: str
    field: str | None = None
    retry_after: float | None = None
    replacement: str | None = None

    @property
    def title(self) -> str:
        return ErrorKind(self.kind).title

    def to_dict(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "title": self.title, "message": self.message, "field": self.field,
                "retry_after": self.retry_after, "replacement": self.replacement}


class RunRefused(Exception):
    """A run that was not started (bad input, no token, over budget). Nothing was sent; nothing is billed."""

    def __init__(self, error: RunError) -> None:
        super().__init__(error.message)
        self.error = error

    @classmethod
    def invalid(cls, field: str | None, message: str) -> RunRefused:
        return cls(RunError(ErrorKind.INVALID, message, field=field))


@dataclass(frozen=True)
class RunTimings:
    """Wall-clock seconds seen by this client, split into waiting in line and running on a worker."""

    elapsed: float = 0.0
    queue: float | None = None  # submit accepted -> first "running" status seen (None while still waiting)
    run: float | None = None  # first "running" status -> terminal (live value while running)
    submit: float | None = None  # our click -> Krea accepted the job (network, plus any 429 waits)


@dataclass(frozen=True)
class RunUpdate:
    """One change in a run. `image_path` is set only on the final update of a successful run."""

    model_id: str
    phase: Phase
    label: str  # plain words for the status line
    run_id: str = ""  # ours, unique per run (a job id exists only once Krea accepted the job)
    started_at: str = ""  # ISO 8601 UTC wall-clock time the run began
    backend: str = ""  # "sandbox" | "krea": where the job went
    status: str | None = None  # Krea's own job status, when known
    job_id: str | None = None
    seed: int | None = None
    timings: RunTimings = field(default_factory=RunTimings)
    preview: str | None = None  # path of a small JPEG while the job shows previews
    image_path: str | None = None
    image_size: tuple[int, int] | None = None
    error: RunError | None = None
    params: dict | None = None  # exactly the body sent

    @property
    def is_terminal(self) -> bool:
        return Phase(self.phase).is_terminal

    @property
    def picture(self) -> str | None:
        """The image to show now: the final one, else the latest preview, which a stopped run keeps (a failed
        run shows none: its preview is not a result)."""
        if self.image_path:
            return self.image_path
        if self.is_terminal and self.phase != Phase.CANCELLED:
            return None
        return self.preview

    def evolve(self, **changes) -> RunUpdate:
        return replace(self, **changes)


def run_error_from(exc: BaseException) -> RunError:
    """Map any client or validation failure to the message a person can act on."""
    if isinstance(exc, ValidationFailed):
        return RunError(ErrorKind.INVALID, str(exc), field=exc.field)
    if not isinstance(exc, KreaError):
        return RunError(ErrorKind.INTERNAL, f"Something went wrong in the playground: {exc}. Please try again.")
    return RunError(exc.kind, exc.user_message, field=getattr(exc, "field", None),
                    retry_after=getattr(exc, "retry_after", None), replacement=getattr(exc, "replacement", None))


def _rounded(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, 3)


@dataclass(frozen=True)
class RunRecord:
    """One run as every table, chart, export, history row and API answer reads it.

    Made from a run's update (normally its terminal one). ``cost_usd`` is what the job costs: the model's price
    once Krea completed it with an image (even if our download then failed: it is billed), 0 for failed and
    cancelled jobs and for a "completed" job without an image (not billed [I]), None while unknown (still
    running, or may still be after a timeout or an unconfirmed cancel; or a model without a USD price).
    """

    run_id: str
    model_id: str
    model_name: str
    request_path: str
    prompt: str
    params: dict
    seed: int | None
    phase: Phase
    status: str | None
    job_id: str | None
    backend: str
    started_at: str
    queue_s: float | None
    run_s: float | None
    total_s: float | None
    cost_usd: float | None
    priced: bool  # the model has a known USD price
    image_path: str | None
    image_size: tuple[int, int] | None
    error: RunError | None
    notes: tuple[str, ...] = ()  # how shared settings were adapted to this model (Compare)
    group_id: str | None = None  # the comparison this run belongs to

    @classmethod
    def from_update(cls, update: RunUpdate, model: Model, *, notes: tuple[str, ...] = (),
                    group_id: str | None = None) -> RunRecord:
        params = dict(update.params or {})
        price = estimate_usd(model, params)  # with the inputs' effect (Krea 2 with style references costs more)
        made = update.phase == Phase.DONE or (update.error is not None and update.error.kind == ErrorKind.BAD_IMAGE)
        if update.status == JobStatus.COMPLETED and made:  # made and billed, even if our download then failed
            cost = price
        elif update.is_terminal and (update.job_id is None or update.status in TERMINAL_STATUSES):
            cost = 0.0  # never created, failed, cancelled, or "completed" without an image: not billed
        else:
            cost = None  # still running, or may still be (a timeout, an unconfirmed cancel): not known yet
        t = update.timings
        return cls(
            run_id=update.run_id, model_id=model.id, model_name=model.name, request_path=model.path,
            prompt=str(params.get("prompt", "")), params=params, seed=update.seed, phase=Phase(update.phase),
            status=update.status, job_id=update.job_id, backend=update.backend, started_at=update.started_at,
            queue_s=_rounded(t.queue), run_s=_rounded(t.run), total_s=_rounded(t.elapsed) if t.elapsed else None,
            cost_usd=cost, priced=price is not None, image_path=update.image_path, image_size=update.image_size,
            error=update.error if update.phase != Phase.DONE else None, notes=tuple(notes), group_id=group_id,
        )

    @property
    def is_terminal(self) -> bool:
        return self.phase.is_terminal

    @property
    def status_word(self) -> str:
        """How tables say where a run ended: Completed, Failed, Cancelled, or Running."""
        return PHASE_WORDS.get(self.phase, "Running")

    @property
    def size_text(self) -> str:
        return f"{self.image_size[0]}x{self.image_size[1]}" if self.image_size else ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: what the API returns and what exports write."""
        return {
            "run_id": self.run_id, "model": self.model_id, "model_name": self.model_name,
            # "endpoint", not "path": gradio_client takes any dict with a "path" string for a file to download.
            "request": {"method": "POST", "endpoint": self.request_path, "body": self.params},
            "prompt": self.prompt, "seed": self.seed, "phase": str(self.phase), "status": self.status,
            "job_id": self.job_id, "backend": self.backend, "started_at": self.started_at,
            "queue_s": self.queue_s, "run_s": self.run_s, "total_s": self.total_s,
            "cost_usd": self.cost_usd, "priced": self.priced,
            "image_size": list(self.image_size) if self.image_size else None,
            "error": self.error.to_dict() if self.error else None,
            "notes": list(self.notes), "group_id": self.group_id,
        }
