"""Job parsing tolerates every shape Krea has been seen to send (API-NOTES §3)."""

from datetime import datetime, timezone

import pytest

from playground.krea.jobs import (
    SHADOW_FAIL_MESSAGE,
    TERMINAL_STATUSES,
    Job,
    JobPage,
    JobStatus,
    parse_timestamp,
    status_label,
)


def job(**data) -> Job:
    base = {"job_id": "j1", "status": "queued"}
    base.update(data)
    return Job.from_dict(base)


class TestPendingJobs:
    def test_spec_shape_with_null_result(self):
        j = Job.from_dict({"job_id": "uuid", "status": "queued", "created_at": "2025-01-15T10:30:00.000Z",
                           "completed_at": None, "result": None})
        assert j.job_id == "uuid" and j.status == "queued"
        assert j.result == {} and not j.is_terminal
        assert j.created_at == datetime(2025, 1, 15, 10, 30, tzinfo=timezone.utc)
        assert j.completed_at is None
        assert j.urls == () and j.preview_urls == () and j.error_message is None

    def test_empty_object_result(self):
        assert job(result={}).result == {}

    def test_unknown_fields_are_kept_in_raw(self):
        j = job(type="externalImage", error={"code": None}, something_new=[1, 2])
        assert j.raw["something_new"] == [1, 2]
        assert j.type == "externalImage"

    @pytest.mark.parametrize("status", ["backlogged", "queued", "scheduled", "processing", "sampling",
                                        "intermediate-complete"])
    def test_documented_running_statuses_are_not_terminal(self, status):
        assert not job(status=status).is_terminal

    def test_unknown_status_is_kept_and_not_terminal(self):
        j = job(status="upscaling")
        assert j.status == "upscaling" and not j.is_terminal and not j.failed
        assert status_label("upscaling") == "Upscaling"

    def test_terminal_statuses(self):
        assert TERMINAL_STATUSES == {"completed", "failed", "cancelled"}
        for status in TERMINAL_STATUSES:
            assert job(status=status).is_terminal

    def test_missing_fields_do_not_break_parsing(self):
        j = Job.from_dict({})
        assert j.job_id == "" and j.status == "" and not j.is_terminal

    def test_non_object_is_refused(self):
        with pytest.raises(ValueError):
            Job.from_dict(["not", "a", "job"])  # type: ignore[arg-type]


class TestUrls:
    def test_completed_urls_are_final(self):
        j = job(status="completed", result={"urls": ["https://gen.krea.ai/images/a.png"]})
        assert j.urls == ("https://gen.krea.ai/images/a.png",)
        assert j.preview_urls == () and j.succeeded and not j.failed and j.error_message is None

    def test_url_objects_are_read(self):
        j = job(status="completed", result={"urls": [{"type": "image", "url": "https://x.krea.ai/a.png"}, None, ""]})
        assert j.urls == ("https://x.krea.ai/a.png",)

    def test_top_level_urls_are_a_fallback(self):
        assert job(status="completed", result={}, urls=["https://x.krea.ai/b.png"]).urls == ("https://x.krea.ai/b.png",)

    def test_result_urls_win_over_top_level(self):
        j = job(status="completed", result={"urls": ["https://a"]}, urls=["https://b"])
        assert j.urls == ("https://a",)

    def test_intermediate_urls_are_previews_never_final(self):
        j = job(status="intermediate-complete", result={"urls": ["https://x.krea.ai/preview.jpg"]})
        assert j.urls == ()
        assert j.preview_urls == ("https://x.krea.ai/preview.jpg",)

    def test_urls_on_an_unknown_status_are_previews(self):
        assert job(status="refining", urls=["https://p"]).urls == ()


class TestFailures:
    def test_completed_without_urls_is_a_shadow_fail(self):
        j = job(status="completed", result={})
        assert j.failed and not j.succeeded
        assert j.error_message == SHADOW_FAIL_MESSAGE
        assert "possibly filtered by the provider" in j.error_message

    def test_silent_failure_still_has_a_reason(self):
        j = job(status="failed", result={})
        assert j.failed and "no reason" in j.error_message

    def test_top_level_error_string(self):
        assert job(status="failed", error="Prompt was flagged").error_message == "Prompt was flagged"

    def test_top_level_error_object(self):
        j = job(status="failed", error={"code": "nsfw", "message": "Content was moderated"})
        assert j.error_message == "Content was moderated (nsfw)"

    def test_result_error_string(self):
        assert job(status="failed", result={"error": "provider timeout"}).error_message == "provider timeout"

    def test_result_error_object(self):
        assert job(status="failed", result={"error": {"code": "ip_detected"}}).error_message == "ip_detected"

    def test_message_field(self):
        assert job(status="failed", message="Something broke").error_message == "Something broke"

    def test_null_error_object_is_ignored(self):
        assert job(status="failed", error=None, result={"error": "real reason"}).error_message == "real reason"

    def test_running_job_has_no_error_message(self):
        assert job(status="processing", message="working on it").error_message is None


class TestTimestamps:
    @pytest.mark.parametrize("value, expected", [
        ("2026-02-13T02:20:58.265Z", datetime(2026, 2, 13, 2, 20, 58, 265000, tzinfo=timezone.utc)),
        ("2026-02-13T02:20:58+00:00", datetime(2026, 2, 13, 2, 20, 58, tzinfo=timezone.utc)),
        ("2026-02-13T02:20:58", datetime(2026, 2, 13, 2, 20, 58, tzinfo=timezone.utc)),
        (0, datetime(1970, 1, 1, tzinfo=timezone.utc)),
    ])
    def test_parsed(self, value, expected):
        assert parse_timestamp(value) == expected

    @pytest.mark.parametrize("value", [None, "", "yesterday", "2026-13-45T99:99:99Z", {}, [], True, 1e20])
    def test_garbage_is_none(self, value):
        assert parse_timestamp(value) is None

    def test_job_with_garbage_timestamps(self):
        j = job(created_at="not a date", completed_at=12)
        assert j.created_at is None and j.completed_at is not None


class TestLabels:
    @pytest.mark.parametrize("status, label", [
        ("backlogged", "Waiting for a free slot (backlogged)"), ("queued", "Queued"), ("scheduled", "Scheduled"),
        ("processing", "Processing"), ("sampling", "Sampling"), ("intermediate-complete", "Preview ready"),
        ("completed", "Completed"), ("failed", "Failed"), ("cancelled", "Cancelled"),
        (None, "Unknown status"), ("", "Unknown status"), ("post_processing", "Post processing"),
    ])
    def test_plain_words(self, status, label):
        assert status_label(status) == label

    def test_enum_values_match_strings(self):
        assert JobStatus.COMPLETED == "completed"
        assert status_label(JobStatus.INTERMEDIATE_COMPLETE) == "Preview ready"
        assert {s.value for s in JobStatus} >= TERMINAL_STATUSES


class TestPages:
    def test_next_cursor(self):
        page = JobPage.from_dict({"items": [{"job_id": "a", "status": "completed"}], "next_cursor": "2026-01-01"})
        assert [j.job_id for j in page.items] == ["a"] and page.next_cursor == "2026-01-01"

    def test_camel_case_cursor_fallback(self):
        assert JobPage.from_dict({"items": [], "nextCursor": "c"}).next_cursor == "c"

    def test_null_cursor_falls_back_to_camel_case(self):
        assert JobPage.from_dict({"items": [], "next_cursor": None, "nextCursor": "c"}).next_cursor == "c"

    def test_last_page(self):
        page = JobPage.from_dict({"items": [], "next_cursor": None})
        assert page.items == [] and page.next_cursor is None

    def test_non_object_items_skipped(self):
        assert len(JobPage.from_dict({"items": [{"job_id": "a"}, "junk", None]}).items) == 1
