"""Removing the app's old temp files on a schedule: preview JPEGs, Compare exports, opened bundles.

Three places under the temp dir are ours, and only these are swept:

- ``krea-playground-previews/``  preview JPEGs of running jobs (:data:`playground.outputs.PREVIEW_DIR`)
- ``compare-XXXXXXXX/``          one comparison's CSV and ZIP (``tempfile.mkdtemp(prefix="compare-")``)
- ``krea-playground-bundles/``   the images of opened Compare ZIPs (``bundle-*`` folders)

A file goes when its mtime is older than ``max_age_s``; a folder goes when it was already that old before the
sweep and is empty after it; the two shared roots themselves stay. Symbolic links are never followed: a link is
removed as a file (its target is never touched), and folders are opened with ``O_NOFOLLOW`` and walked by file
descriptor, so a folder swapped for a link mid-sweep is not entered. A root that is not a real folder owned by
this user, or that holds a protected path (the output dir of saved PNGs, the run store), is left alone.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from playground.outputs import PREVIEW_DIR

log = logging.getLogger(__name__)

DEFAULT_MAX_AGE_S = 24 * 3600.0
DEFAULT_INTERVAL_S = 3600.0
PREVIEW_DIR_NAME = PREVIEW_DIR.name  # "krea-playground-previews"
BUNDLE_DIR_NAME = "krea-playground-bundles"  # playground.ui.compare_forms.BUNDLE_ROOT
EXPORT_DIR = re.compile(r"compare-[A-Za-z0-9_]{8}")  # tempfile.mkdtemp's names: prefix + 8 random characters

# Walk by directory file descriptor (as shutil.rmtree does) where the platform allows: nothing can be swapped
# for a symlink between the check and the removal. Elsewhere the same walk goes by path, checking with lstat.
_BY_FD = ({os.open, os.unlink, os.rmdir} <= os.supports_dir_fd and os.scandir in os.supports_fd
          and hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY"))
_OPEN_DIR = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


def sweep_temp(now: float | None = None, max_age_s: float = DEFAULT_MAX_AGE_S, *,
               temp_dir: str | os.PathLike | None = None, protect: Iterable[str | os.PathLike] = ()) -> int:
    """Remove our temp files older than ``max_age_s`` (as of ``now``, default the clock); return how many files
    and folders were removed. ``temp_dir`` defaults to :func:`tempfile.gettempdir`; nothing under ``protect``
    (e.g. the output dir) is ever removed."""
    if not max_age_s > 0:
        raise ValueError(f"max_age_s must be above 0, got {max_age_s!r}")
    cutoff = (time.time() if now is None else now) - max_age_s
    temp = Path(temp_dir if temp_dir is not None else tempfile.gettempdir())
    guarded = [_resolved(p) for p in protect]
    removed = 0
    for root in (temp / PREVIEW_DIR_NAME, temp / BUNDLE_DIR_NAME):
        removed += _sweep_root(root, cutoff, guarded, remove_root=False)
    for root in _export_dirs(temp):
        removed += _sweep_root(root, cutoff, guarded, remove_root=True)
    return removed


class Sweeper(threading.Thread):
    """A daemon thread that sweeps at once and then every ``interval_s`` until :meth:`stop`."""

    def __init__(self, interval_s: float, max_age_s: float, *, temp_dir=None, protect: Iterable = ()):
        super().__init__(name="temp-sweeper", daemon=True)
        if not interval_s > 0 or not max_age_s > 0:
            raise ValueError("interval_s and max_age_s must be above 0")
        self.interval_s = interval_s
        self.max_age_s = max_age_s
        self.temp_dir = temp_dir
        self.protect = tuple(protect)
        self.sweeps = 0  # completed sweeps (for tests and logs)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                removed = sweep_temp(max_age_s=self.max_age_s, temp_dir=self.temp_dir, protect=self.protect)
                if removed:
                    log.info("removed %d old temp file(s) and folder(s)", removed)
            except Exception:  # a sweep that fails must not end the schedule
                log.exception("temp sweep failed")
            self.sweeps += 1
            self._stop_event.wait(self.interval_s)

    def stop(self, timeout: float | None = 5.0) -> None:
        """End the schedule (a sweep under way finishes first). Safe to call twice or before start."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)


def start_sweeper(interval_s: float = DEFAULT_INTERVAL_S, max_age_s: float = DEFAULT_MAX_AGE_S, *,
                  temp_dir=None, protect: Iterable = ()) -> Sweeper:
    """Start a :class:`Sweeper` (first sweep right away); call ``.stop()`` on shut-down."""
    sweeper = Sweeper(interval_s, max_age_s, temp_dir=temp_dir, protect=protect)
    sweeper.start()
    return sweeper


# --- the walk ----------------------------------------------------------------------------------------------------

def _resolved(path) -> Path:
    try:
        return Path(path).resolve()
    except OSError:
        return Path(os.path.abspath(path))


def _export_dirs(temp: Path) -> list[Path]:
    try:
        with os.scandir(temp) as entries:
            return [temp / e.name for e in entries if EXPORT_DIR.fullmatch(e.name)]
    except OSError:
        return []


def _guarded(root: Path, guarded: list[Path]) -> bool:
    """Whether a protected path is the root or lies inside it (sweeping it could reach saved PNGs)."""
    real = _resolved(root)
    return any(p == real or real in p.parents for p in guarded)


def _sweep_root(root: Path, cutoff: float, guarded: list[Path], *, remove_root: bool) -> int:
    try:
        before = os.lstat(root)
    except OSError:
        return 0
    if not stat.S_ISDIR(before.st_mode) or not _owned(before) or _guarded(root, guarded):
        return 0  # a link, a file, someone else's folder, or one that holds what we must keep
    try:
        handle = _open_dir(root, None)
    except OSError:
        return 0
    try:
        opened = os.stat(handle) if isinstance(handle, int) else os.lstat(handle)
        if (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
            return 0  # swapped between the check and the open
        removed = _sweep_dir(handle, cutoff)
    finally:
        _close(handle)
    if remove_root and before.st_mtime < cutoff and _rmdir(str(root), None):
        removed += 1
    return removed


def _owned(st: os.stat_result) -> bool:
    return not hasattr(os, "geteuid") or st.st_uid == os.geteuid()


def _sweep_dir(handle, cutoff: float) -> int:
    """Remove what is older than ``cutoff`` inside the folder ``handle`` (an fd, or a path without _BY_FD)."""
    removed = 0
    try:
        with os.scandir(handle) as scan:
            entries = list(scan)
    except OSError:
        return 0
    for entry in entries:
        name, at = _target(handle, entry.name)
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode):
            try:
                child = _open_dir(name, at)
            except OSError:
                continue  # gone, or replaced by a link since the scan: not entered
            try:
                removed += _sweep_dir(child, cutoff)
            finally:
                _close(child)
            if st.st_mtime < cutoff and _rmdir(name, at):  # only if it is empty now
                removed += 1
        elif st.st_mtime < cutoff:
            try:
                os.unlink(name, dir_fd=at)  # a symlink is unlinked itself, never its target
                removed += 1
            except OSError:
                pass
    return removed


def _target(handle, name: str):
    """(name, dir_fd) for an fd walk, (full path, None) for a path walk."""
    return (name, handle) if isinstance(handle, int) else (os.path.join(handle, name), None)


def _open_dir(name, dir_fd):
    if _BY_FD:
        return os.open(name, _OPEN_DIR, dir_fd=dir_fd)
    path = str(name)
    if not stat.S_ISDIR(os.lstat(path).st_mode):
        raise NotADirectoryError(path)
    return path


def _close(handle) -> None:
    if isinstance(handle, int):
        os.close(handle)


def _rmdir(name, dir_fd) -> bool:
    try:
        os.rmdir(name, dir_fd=dir_fd)
        return True
    except OSError:  # not empty (something young inside, or just written), or gone
        return False
