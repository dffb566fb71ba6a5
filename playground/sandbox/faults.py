"""Switchable faults: the failures Krea can show, on demand.

A :class:`Fault` is set through :meth:`playground.sandbox.SandboxServer.set_fault`, ``engine.faults.add(...)``
or ``POST /_sandbox/faults`` with the same fields as JSON. Faults that shape a job are resolved when the job is
submitted, so a fault applies to jobs submitted after it was set. ``count`` makes a fault clear itself after that
many uses (submits refused, GETs answered, jobs affected); ``None`` keeps it until it is cleared.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# What each kind does:
#   submit_status  POST /generate/image/... answers `status` (e.g. 401/402/429/500/503), optional Retry-After
#   get_status     GET /jobs/{id} answers `status` (default 503), to exercise client retries
#   job_fails      the job ends `failed` with `reason` (result.error and error.message) and error.code `code`
#   silent_fail    the job ends `failed` with result {} and no error detail
#   shadow_fail    the job ends `completed` with result {} (no urls)
#   slow           the job's duration is multiplied by `factor`
#   hang           the job stays `processing` until it is cancelled
SUBMIT_KINDS = frozenset({"submit_status"})
GET_KINDS = frozenset({"get_status"})
OUTCOME_KINDS = ("hang", "job_fails", "silent_fail", "shadow_fail")  # at most one decides how a job ends
JOB_KINDS = frozenset(OUTCOME_KINDS) | {"slow"}
KINDS = SUBMIT_KINDS | GET_KINDS | JOB_KINDS

DEFAULT_FAIL_REASON = "NSFW content detected"
DEFAULT_FAIL_CODE = "generation_failed"

STATUS_MESSAGES = {
    400: "The request body is invalid (sandbox fault).",
    401: "Invalid or revoked API token (sandbox fault).",
    402: "You have run out of credits. Top up your API balance to continue (sandbox fault).",
    403: "Forbidden (sandbox fault).",
    404: "Not found (sandbox fault).",
    429: "You have reached the maximum number of concurrent jobs (sandbox fault).",
    500: "Internal server error (sandbox fault).",
    502: "Bad gateway (sandbox fault).",
    503: "Service temporarily unavailable (sandbox fault).",
    504: "Gateway timeout (sandbox fault).",
}


@dataclass
class Fault:
    """One injected failure. ``model`` is a catalog id or ``"*"`` for every model."""

    kind: str
    model: str = "*"
    status: int | None = None  # submit_status (required), get_status (default 503)
    retry_after: float | None = None  # seconds, sent as a Retry-After header
    count: int | None = None  # uses left; None = until cleared
    reason: str | None = None  # job_fails: the failure text
    code: str | None = None  # job_fails: error.code
    message: str | None = None  # submit_status/get_status: the {"error": ...} text
    factor: float = 3.0  # slow: duration multiplier
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(sorted(KINDS))}; got {self.kind!r}")
        if not isinstance(self.model, str) or not self.model:
            raise ValueError("model must be a model id or '*'")
        if self.kind == "submit_status" and self.status is None:
            raise ValueError("submit_status needs a status, e.g. 503")
        if self.kind == "get_status" and self.status is None:
            self.status = 503
        if self.status is not None and (
            isinstance(self.status, bool) or not isinstance(self.status, int) or not 400 <= self.status <= 599
        ):
            raise ValueError(f"status must be an HTTP error code between 400 and 599; got {self.status!r}")
        if self.count is not None and (isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1):
            raise ValueError(f"count must be a positive integer or null; got {self.count!r}")
        if self.retry_after is not None and (
            isinstance(self.retry_after, bool) or not isinstance(self.retry_after, (int, float)) or self.retry_after < 0
        ):
            raise ValueError(f"retry_after must be a number of seconds >= 0; got {self.retry_after!r}")
        if isinstance(self.factor, bool) or not isinstance(self.factor, (int, float)) or self.factor <= 0:
            raise ValueError(f"factor must be a number > 0; got {self.factor!r}")
        if self.kind == "job_fails" and not self.reason:
            self.reason = DEFAULT_FAIL_REASON

    def matches(self, model_id: str | None) -> bool:
        return self.model == "*" or self.model == model_id

    @property
    def error_message(self) -> str:
        return self.message or STATUS_MESSAGES.get(self.status or 0, f"HTTP {self.status} (sandbox fault).")

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: fields that do not apply to this kind (None, or factor outside `slow`) are left out."""
        data = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        if self.kind != "slow":
            data.pop("factor")
        data.setdefault("count", None)  # null: until cleared
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """Build from JSON fields; unknown fields and bad values raise ``ValueError`` naming them."""
        if not isinstance(data, Mapping):
            raise TypeError("a fault is a JSON object with at least a 'kind'")
        known = {f.name for f in dataclasses.fields(cls)} - {"id"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        if "kind" not in data:
            raise ValueError(f"a fault needs a 'kind', one of {', '.join(sorted(KINDS))}")
        return cls(**dict(data))


@dataclass(frozen=True)
class JobFaults:
    """What the faults decided for one job at submit time."""

    outcome: str | None = None  # one of OUTCOME_KINDS, or None for a normal job
    reason: str | None = None
    code: str | None = None
    slow_factor: float = 1.0


class FaultRegistry:
    """The faults in force. Thread-safe; uses are counted down and spent faults removed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if f.id != fault_id]
            return len(self._faults) != before

    def clear(self, kind: str | None = None) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if kind is not None and f.kind != kind]

    def list(self) -> list[Fault]:
        with self._lock:
            return [dataclasses.replace(f) for f in self._faults]

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def _use(self, fault: Fault) -> None:
        """Count one use (lock held)."""
        if fault.count is not None:
            fault.count -= 1
            if fault.count <= 0:
                self._faults.remove(fault)

    def take(self, kinds: frozenset[str], model_id: str | None) -> Fault | None:
        """The first matching fault of these kinds, counting one use; a copy, so callers read it safely."""
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(model_id):
                    snapshot = dataclasses.replace(fault)
                    self._use(fault)
                    return snapshot
        return None

    def take_submit(self, model_id: str) -> Fault | None:
        return self.take(SUBMIT_KINDS, model_id)

    def take_get(self, model_id: str | None) -> Fault | None:
        return self.take(GET_KINDS, model_id)

    def for_job(self, model_id: str) -> JobFaults:
        """Resolve the job faults for a new job: the first outcome fault wins, slow factors multiply."""
        outcome: Fault | None = None
        factor = 1.0
        with self._lock:
            for fault in list(self._faults):
                if fault.kind not in JOB_KINDS or not fault.matches(model_id):
                    continue
                if fault.kind == "slow":
                    factor *= float(fault.factor)
                elif outcome is None:
                    outcome = dataclasses.replace(fault)
                else:
                    continue  # a second outcome fault waits for the next job
                self._use(fault)
        if outcome is None:
            return JobFaults(slow_factor=factor)
        return JobFaults(
            outcome=outcome.kind,
            reason=outcome.reason,
            code=outcome.code or (DEFAULT_FAIL_CODE if outcome.kind == "job_fails" else None),
            slow_factor=factor,
        )
