"""Temp files are swept on a schedule: old previews, Compare exports and opened bundles go; nothing else does."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import pytest

from playground import cleanup
from playground.cleanup import start_sweeper, sweep_temp
from playground.outputs import PREVIEW_DIR
from playground.settings import load_settings

NOW = 1_800_000_000.0
DAY = 24 * 3600.0
OLD = NOW - DAY - 60  # a minute past the default max age
YOUNG = NOW - DAY + 60  # a minute short of it


def make(path: Path, mtime: float, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def age(path: Path, mtime: float) -> Path:
    os.utime(path, (mtime, mtime), follow_symlinks=False)
    return path


@pytest.fixture(autouse=True, params=["by-fd", "by-path"])
def walk(request, monkeypatch):
    """Every test runs with the descriptor walk (Linux) and the by-path walk (platforms without dir_fd)."""
    if request.param == "by-path":
        monkeypatch.setattr(cleanup, "_BY_FD", False)
    elif not cleanup._BY_FD:
        pytest.skip("no dir_fd support on this platform")


@pytest.fixture
def temp(tmp_path) -> Path:
    root = tmp_path / "tmp"
    root.mkdir()
    return root


def test_old_previews_go_young_ones_stay(temp):
    previews = temp / PREVIEW_DIR.name
    old = make(previews / "job-a-0.jpg", OLD)
    young = make(previews / "job-b-3.jpg", YOUNG)
    assert sweep_temp(now=NOW, temp_dir=temp) == 1
    assert not old.exists() and young.exists()
    assert previews.is_dir()  # the shared folder itself stays: the app writes into it at any time


def test_an_old_compare_export_folder_goes_whole(temp):
    export = temp / "compare-ab12_xyz"
    make(export / "comparison.csv", OLD)
    make(export / "comparison.zip", OLD)
    age(export, OLD)
    assert sweep_temp(now=NOW, temp_dir=temp) == 3
    assert not export.exists()


def test_a_compare_folder_with_anything_young_keeps_it(temp):
    export = temp / "compare-k3j4h5g6"
    old = make(export / "comparison.csv", OLD)
    young = make(export / "comparison.zip", YOUNG)
    age(export, OLD)
    assert sweep_temp(now=NOW, temp_dir=temp) == 1
    assert not old.exists() and young.exists() and export.is_dir()


def test_a_fresh_empty_export_folder_is_not_removed(temp):
    fresh = temp / "compare-00000000"
    fresh.mkdir()
    age(fresh, YOUNG)  # just made by mkdtemp, its CSV not written yet
    assert sweep_temp(now=NOW, temp_dir=temp) == 0
    assert fresh.is_dir()


def test_old_bundle_folders_go_the_root_stays(temp):
    bundles = temp / cleanup.BUNDLE_DIR_NAME
    old = bundles / "bundle-aaaa1111"
    make(old / "00-flux.png", OLD)
    age(old, OLD)
    young = bundles / "bundle-bbbb2222"
    make(young / "00-flux.png", YOUNG)
    age(bundles, OLD)
    assert sweep_temp(now=NOW, temp_dir=temp) == 2
    assert not old.exists() and (young / "00-flux.png").exists() and bundles.is_dir()


def test_nothing_but_our_folders_is_touched(temp):
    others = [
        make(temp / "someone-elses.txt", OLD),
        make(temp / "compare-notes.txt", OLD),  # a file, not a mkdtemp folder
        make(temp / "compare-too-long-a-name" / "a.csv", OLD),  # not mkdtemp's 8 characters
        make(temp / "krea-sandbox-abc" / "x.png", OLD),
        make(temp / "bench-12345678" / "x.png", OLD),
    ]
    for path in others[2:]:
        age(path.parent, OLD)
    assert sweep_temp(now=NOW, temp_dir=temp) == 0
    assert all(p.exists() for p in others)


def test_symlinks_are_removed_as_links_never_followed(temp, tmp_path):
    outside = tmp_path / "outside"
    precious = make(outside / "precious.png", OLD)
    age(outside, OLD)
    previews = temp / PREVIEW_DIR.name
    previews.mkdir()
    file_link = previews / "link.jpg"
    file_link.symlink_to(precious)
    dir_link = previews / "dir-link"
    dir_link.symlink_to(outside, target_is_directory=True)
    export = temp / "compare-lnk00001"
    export.mkdir()
    (export / "out").symlink_to(outside, target_is_directory=True)
    for link in (file_link, dir_link, export / "out"):
        age(link, OLD)
    age(export, OLD)
    assert sweep_temp(now=NOW, temp_dir=temp) == 4  # three links and the export folder
    assert not file_link.is_symlink() and not dir_link.is_symlink() and not export.exists()
    assert precious.exists() and outside.is_dir()


def test_a_root_that_is_a_symlink_is_not_swept(temp, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    keep = make(elsewhere / "keep.jpg", OLD)
    (temp / PREVIEW_DIR.name).symlink_to(elsewhere, target_is_directory=True)
    (temp / "compare-symlink1").symlink_to(elsewhere, target_is_directory=True)
    assert sweep_temp(now=NOW, temp_dir=temp) == 0
    assert keep.exists()


def test_the_output_dir_is_never_swept_even_inside_a_temp_folder(temp):
    output_dir = temp / "compare-outputs1" / "outputs"  # PLAYGROUND_OUTPUT_DIR pointed somewhere unlucky
    saved = make(output_dir / "20250101" / "final.png", OLD)
    preview = make(temp / PREVIEW_DIR.name / "p-0.jpg", OLD)
    assert sweep_temp(now=NOW, temp_dir=temp, protect=[output_dir]) == 1
    assert saved.exists() and not preview.exists()


def test_saved_pngs_in_the_output_dir_are_untouched(temp, tmp_path):
    output_dir = tmp_path / "outputs"
    saved = make(output_dir / "20250101" / "final.png", OLD)
    make(temp / PREVIEW_DIR.name / "p-0.jpg", OLD)
    assert sweep_temp(now=NOW, temp_dir=temp, protect=[output_dir]) == 1
    assert saved.exists()


def test_max_age_is_honoured(temp):
    preview = make(temp / PREVIEW_DIR.name / "p-0.jpg", NOW - 3 * 3600)
    assert sweep_temp(now=NOW, max_age_s=4 * 3600, temp_dir=temp) == 0
    assert sweep_temp(now=NOW, max_age_s=2 * 3600, temp_dir=temp) == 1
    assert not preview.exists()
    with pytest.raises(ValueError):
        sweep_temp(now=NOW, max_age_s=0, temp_dir=temp)


def test_nested_folders_are_emptied_bottom_up(temp):
    export = temp / "compare-nested01"
    deep = export / "a" / "b"
    make(deep / "c.csv", OLD)
    for folder in (deep, deep.parent, export):
        age(folder, OLD)
    assert sweep_temp(now=NOW, temp_dir=temp) == 4
    assert not export.exists()


def test_the_default_temp_dir_is_tempfiles(temp, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    old = make(temp / PREVIEW_DIR.name / "p-0.jpg", time.time() - DAY - 60)
    assert sweep_temp() == 1
    assert not old.exists()


def test_the_sweeper_sweeps_at_once_and_on_schedule_then_stops(temp):
    first = make(temp / PREVIEW_DIR.name / "first.jpg", time.time() - DAY - 60)
    sweeper = start_sweeper(0.05, DAY, temp_dir=temp)
    try:
        deadline = time.monotonic() + 5
        while first.exists():
            assert time.monotonic() < deadline, "the first sweep did not run"
            time.sleep(0.01)
        later = make(temp / PREVIEW_DIR.name / "later.jpg", time.time() - DAY - 60)
        while later.exists():
            assert time.monotonic() < deadline, "no second sweep on schedule"
            time.sleep(0.01)
        assert sweeper.daemon  # never keeps the process alive
    finally:
        sweeper.stop()
    assert not sweeper.is_alive()
    sweeper.stop()  # twice is fine


def test_a_failing_sweep_does_not_end_the_schedule(temp, monkeypatch):
    calls = []

    def flaky(**kwargs):
        calls.append(kwargs)
        if len(calls) == 1:
            raise OSError("disk went away")
        return 0

    monkeypatch.setattr(cleanup, "sweep_temp", flaky)
    sweeper = start_sweeper(0.02, DAY, temp_dir=temp)
    try:
        deadline = time.monotonic() + 5
        while len(calls) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        sweeper.stop()


def test_max_age_and_interval_settings_from_the_environment():
    app = load_settings({}).app
    assert (app.temp_max_age_s, app.temp_sweep_interval_s) == (24 * 3600, 3600)
    app = load_settings({"PLAYGROUND_TEMP_MAX_AGE": "7200", "PLAYGROUND_TEMP_SWEEP_INTERVAL": "600"}).app
    assert (app.temp_max_age_s, app.temp_sweep_interval_s) == (7200, 600)
    with pytest.raises(ValueError, match="PLAYGROUND_TEMP_MAX_AGE"):
        load_settings({"PLAYGROUND_TEMP_MAX_AGE": "0"})
