"""The HTTP client for Krea's job API (and the sandbox, which speaks the same protocol). Knows nothing of Gradio.

    from playground.krea import KreaClient, Job, JobStatus, errors

    with KreaClient(token, settings.client) as client:
        job = client.submit_job("bfl/flux-1-dev", {"prompt": "a red fox"})
        for job in client.poll_job(job.job_id):
            print(status_label(job.status))
"""

from playground.krea import errors
from playground.krea.assets import MAX_ASSET_BYTES, Asset, AssetPage, Style, StylePage
from playground.krea.client import KreaClient, host_allowed
from playground.krea.errors import (
    AnswerTooLarge,
    BadAnswer,
    BadImage,
    BadRequest,
    DownloadStopped,
    ErrorKind,
    JobCancelled,
    JobError,
    JobFailed,
    JobTimeout,
    KreaAPIError,
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
from playground.krea.follow import JobFollower, PollingFollower, poll_intervals, wait_for_job
from playground.krea.jobs import TERMINAL_STATUSES, Job, JobPage, JobStatus, parse_timestamp, status_label

__all__ = [
    "MAX_ASSET_BYTES", "AnswerTooLarge", "Asset", "AssetPage", "BadAnswer", "BadImage", "BadRequest",
    "DownloadStopped", "ErrorKind", "Job", "JobCancelled",
    "JobError", "JobFailed", "JobFollower", "JobPage",
    "JobStatus", "JobTimeout", "KreaAPIError", "KreaClient", "KreaError", "ModelRetired", "NotFound",
    "OutOfCredits", "PollingFollower", "RateLimited", "ServerError", "Style", "StylePage", "TERMINAL_STATUSES",
    "Timeout",
    "TransportError", "Unauthorized", "errors", "host_allowed", "parse_timestamp", "poll_intervals",
    "status_label", "wait_for_job",
]
