"""Uploads, once per file per session: a picture's sha256 -> the asset ``POST /assets`` made of it."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

from playground.krea.assets import Asset
from playground.krea.client import KreaClient
from playground.krea.errors import NotFound
from playground.references import Reference, ReferenceSet

KEEP_PER_SESSION = 50
KEEP_SESSIONS = 1000


@dataclass(frozen=True)
class CachedAsset:
    """A picture this session uploaded: its file's hash and the asset Krea (or the sandbox) made of it."""

    sha256: str
    name: str
    asset: Asset

    @property
    def asset_id(self) -> str:
        return self.asset.id

    @property
    def url(self) -> str:
        return self.asset.image_url


@dataclass
class _Bucket:
    client: weakref.ref  # the session's client when these were uploaded: another token cannot use or delete them
    entries: OrderedDict[str, CachedAsset] = field(default_factory=OrderedDict)  # sha256 -> asset, LRU last
    lock: threading.Lock = field(default_factory=threading.Lock)  # one upload at a time per session


class AssetCache:
    """Per session (the run service's session id): sha256 of a file -> its asset, uploaded through that session's
    client the first time only. Bounded: past ``per_session`` the least recently used is forgotten here (it stays
    at the backend, where stored runs may still point at it); past ``sessions`` the oldest session likewise. A
    session whose client changed (a token pasted or forgotten) starts empty. Thread-safe."""

    def __init__(self, per_session: int = KEEP_PER_SESSION, sessions: int = KEEP_SESSIONS) -> None:
        self.per_session = per_session
        self.max_sessions = sessions
        self._lock = threading.Lock()
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _bucket(self, key: str, client: KreaClient) -> _Bucket:
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or bucket.client() is not client:
                bucket = self._buckets[key] = _Bucket(weakref.ref(client))
            self._buckets.move_to_end(key)
            while len(self._buckets) > self.max_sessions:
                self._buckets.popitem(last=False)
            return bucket

    def upload(self, key: str, client: KreaClient, ref: Reference) -> CachedAsset:
        """The picture's asset, uploaded now unless this session already did. Raises the client's errors
        (``KreaError``), :class:`~playground.references.BadReference` for a file that cannot be read again."""
        bucket = self._bucket(key, client)
        with bucket.lock:
            cached = bucket.entries.get(ref.sha256)
            if cached is not None:
                bucket.entries.move_to_end(ref.sha256)
                return cached
            asset = client.upload_asset(ref.read(), ref.name, ref.mime_type)
            cached = bucket.entries[ref.sha256] = CachedAsset(ref.sha256, ref.name, asset)
            while len(bucket.entries) > self.per_session:
                bucket.entries.popitem(last=False)
            return cached

    def upload_set(self, key: str, client: KreaClient, refs: ReferenceSet) -> dict[str, str]:
        """sha256 -> URL for every picture of the set (each distinct file uploaded at most once)."""
        return {ref.sha256: self.upload(key, client, ref).url for ref in refs.pictures}

    def assets(self, key: str, client: KreaClient | None = None) -> list[CachedAsset]:
        """This session's uploads, most recently used first (none if its client changed since)."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None or (client is not None and bucket.client() is not client):
                return []
            return list(reversed(bucket.entries.values()))

    def remove(self, key: str, client: KreaClient, asset_id_or_sha: str) -> bool:
        """Delete one upload at the backend (``DELETE /assets/{id}``) and forget it. True if this session had
        it (already gone at the backend counts as deleted); other client errors propagate and it is kept."""
        bucket = self._bucket(key, client)
        with bucket.lock:
            found = next((c for c in bucket.entries.values()
                          if asset_id_or_sha in (c.asset_id, c.sha256)), None)
            if found is None:
                return False
            try:
                client.delete_asset(found.asset_id)
            except NotFound:
                pass  # deleted elsewhere, or dropped by the backend: gone either way
            bucket.entries.pop(found.sha256, None)
            return True

    def forget(self, key: str) -> None:
        """Forget a session's uploads here (its tab closed); they stay at the backend."""
        with self._lock:
            self._buckets.pop(key, None)

