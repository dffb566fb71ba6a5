"""The job object, parsed tolerantly (API-NOTES §3).

Krea's job JSON varies between snapshots and models: ``result`` may be null or ``{}``, URLs may sit under
``result.urls`` or at the top level and be strings or ``{url: ...}`` objects, failure details may be in
``error``, ``result.error`` or ``message``, and new statuses may appear. Parsing never fails on any of that:
unknown fields stay in ``raw`` and unknown statuses count as "still running".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any


class JobStatus(str, Enum):
    """The documented statuses. ``Job.status`` stays a plain str so unknown values survive."""

    BACKLOGGED = "backlogged"
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    PROCESSING = "processing"
    SAMPLING = "sampling"
    INTERMEDIATE_COMPLETE = "intermediate-complete"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})

_LABELS = {
    "backlogged": "Waiting for a free slot (backlogged)",
    "queued": "Queued",
    "scheduled": "Scheduled",
    "processing": "Processing",
    "sampling": "Sampling",
    "intermediate-complete": "Preview ready",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
}

SHADOW_FAIL_MESSAGE = "the job completed without an image — possibly filtered by the provider"


def status_label(status: str | None) -> str:
    """A status in plain words; an unknown status is shown as itself, tidied ("upscaling" → "Upscaling")."""
    if not status:
        return "Unknown status"
    status = str(status)
    return _LABELS.get(status) or status.replace("-", " ").replace("_", " ").strip().capitalize()


def parse_timestamp(value: Any) -> datetime | None:
    """ISO 8601 (``2026-02-13T02:20:58.265Z``) or epoch seconds → aware UTC datetime; anything else → None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(float(value), tz=timezone.utc)
        if not isinstance(value, str) or not value.strip():
            return None
        text = value.strip()
        if text.endswith(("Z", "z")):  # Python 3.10's fromisoformat does not take "Z"
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _url_list(value: Any) -> tuple[str, ...]:
    """Entries may be strings or objects such as ``{"type": "preview", "url": "..."}``; keep the strings."""
    if isinstance(value, (str, dict)):
        value = [value]
    if not isinstance(value, Iterable):
        return ()
    urls = []
    for entry in value:
        if isinstance(entry, dict):
            entry = entry.get("url")
        if isinstance(entry, str) and entry.strip():
            urls.append(entry.strip())
    return tuple(urls)


def _error_text(value: Any) -> str | None:
    """An error given as a string, or as an object with ``message``/``code``/``reason``."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, dict):
        message = value.get("message") or value.get("detail") or value.get("reason")
        code = value.get("code") or value.get("type")
        if message and code and str(code) not in str(message):
            return f"{message} ({code})"
        if message or code:
            return str(message or code)
    return None


@dataclass(frozen=True)
class Job:
    """One Krea job as last seen. ``raw`` is the full JSON, unknown fields included."""

    job_id: str
    status: str
    created_at: datetime | None = None
    completed_at: datetime | None = None
    result: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, data: dict) -> Job:
        """Parse a job object; raises ``ValueError`` only when ``data`` is not an object at all."""
        if not isinstance(data, dict):
            raise ValueError(f"a job must be a JSON object, got {type(data).__name__}")
        result = data.get("result")
        return cls(
            job_id=str(data.get("job_id") or data.get("id") or ""),
            status=str(data.get("status") or ""),
            created_at=parse_timestamp(data.get("created_at")),
            completed_at=parse_timestamp(data.get("completed_at")),
            result=dict(result) if isinstance(result, dict) else {},
            raw=dict(data),
        )

    @property
    def is_terminal(self) -> bool:
        """completed, failed or cancelled. Unknown statuses are not terminal: keep following."""
        return self.status in TERMINAL_STATUSES

    @property
    def _all_urls(self) -> tuple[str, ...]:
        # result.urls first; some payloads put urls at the top level instead (API-NOTES §3.1).
        return _url_list(self.result.get("urls")) or _url_list(self.raw.get("urls"))

    @property
    def urls(self) -> tuple[str, ...]:
        """Final image URLs: only when the job is ``completed``; never previews."""
        return self._all_urls if self.status == "completed" else ()

    @property
    def preview_urls(self) -> tuple[str, ...]:
        """Intermediate images (e.g. during ``intermediate-complete``): never to be taken as the result."""
        return () if self.status == "completed" else self._all_urls

    @property
    def succeeded(self) -> bool:
        return self.status == "completed" and bool(self.urls)

    @property
    def failed(self) -> bool:
        """``failed``, or ``completed`` with no image (a "shadow-fail": a silent refusal by the provider)."""
        return self.status == "failed" or (self.status == "completed" and not self.urls)

    @property
    def error_message(self) -> str | None:
        """Why the job failed or was cancelled, from ``error``, ``result.error`` or ``message``; else None."""
        if not self.is_terminal or self.succeeded:
            return None
        found = (_error_text(self.raw.get("error")) or _error_text(self.result.get("error"))
                 or _error_text(self.raw.get("message")))
        if found:
            return found
        if self.status == "completed" and not self.urls:
            return SHADOW_FAIL_MESSAGE
        if self.status == "failed":
            return "Krea gave no reason (the provider may have refused the prompt or failed silently)"
        return None

    @property
    def type(self) -> str | None:
        value = self.raw.get("type")
        return value if isinstance(value, str) else None

    @property
    def label(self) -> str:
        return status_label(self.status)


@dataclass(frozen=True)
class JobPage:
    """One page of ``GET /jobs``. ``next_cursor`` is None on the last page."""

    items: list[Job]
    next_cursor: str | None = None

    @classmethod
    def from_dict(cls, data: Any) -> JobPage:
        if not isinstance(data, dict):
            raise ValueError(f"a job list must be a JSON object, got {type(data).__name__}")
        items = data.get("items")
        if items is None:
            items = data.get("jobs") or []
        cursor = data.get("next_cursor") or data.get("nextCursor")  # older docs spell it camelCase
        return cls(
            items=[Job.from_dict(item) for item in items if isinstance(item, dict)],
            next_cursor=str(cursor) if cursor not in (None, "") else None,
        )
