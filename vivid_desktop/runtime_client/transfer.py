"""Moving files to and from a remote runtime: hashed, chunked, resumable uploads; verified fetches."""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from vivid_desktop.protocol import uploads as u
from vivid_desktop.runtime_client.errors import RequestFailed

if TYPE_CHECKING:
    from vivid_desktop.runtime_client.client import RuntimeClient

#: Files asked about in one ``upload_status``.
STATUS_BATCH = 5000

#: ``progress(done_bytes, total_bytes)``; may raise to stop the upload.
UploadProgress = Callable[[int, int], None]


class Transfers:
    """Uploads and fetches through one client's connection (requests on the caller's thread)."""

    def __init__(self, client: RuntimeClient) -> None:
        self.client = client
        self._hashes: dict[tuple[str, int, int], str] = {}
        self._lock = threading.Lock()

    # ---- uploads -------------------------------------------------------------------------------

    def sha256(self, path: Path) -> str:
        """The file's SHA-256, remembered while its size and time stay the same."""
        stat = path.stat()
        key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        with self._lock:
            known = self._hashes.get(key)
        if known is None:
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            known = digest.hexdigest()
            with self._lock:
                self._hashes[key] = known
        return known

    def upload_inputs(self, files: dict[str, Path | list[Path]], progress: UploadProgress) -> dict[str, str]:
        """Upload what the server lacks; ``field`` → ``upload:<sha>`` (or ``folder:<sha>`` for a list)."""
        paths = sorted({p for v in files.values() for p in (v if isinstance(v, list) else [v])})
        for path in paths:
            if not path.is_file():
                raise RequestFailed("file_not_found", f"not found: {path}")
        hashes = {p: self.sha256(p) for p in paths}
        sizes = {hashes[p]: p.stat().st_size for p in paths}
        have, chunk = self._status(sizes)
        total, done = sum(sizes.values()), sum(have.values())
        progress(done, total)
        by_sha = {hashes[p]: p for p in paths}
        for sha, size in sizes.items():
            offset, complete = have[sha], 0 < size <= have[sha]
            while not complete:  # an empty file takes one empty chunk
                offset, complete = self._send_chunk(by_sha[sha], sha, size, offset, chunk)
                progress(min(total, done + offset - have[sha]), total)
            done += size - have[sha]
        refs: dict[str, str] = {}
        for field, value in files.items():
            if isinstance(value, list):
                entries = {p.name: hashes[p] for p in value}
                reply = self.client.request(u.MakeFolder(files=entries), timeout=60.0)
                assert isinstance(reply, u.MakeFolderReply)
                refs[field] = reply.ref
            else:
                refs[field] = f"upload:{hashes[value]}"
        return refs

    def _status(self, sizes: dict[str, int]) -> tuple[dict[str, int], int]:
        """Bytes the server has of each file (asked in batches: a long clip has many masks); chunk size."""
        items = list(sizes.items())
        have: dict[str, int] = {}
        chunk = u.MAX_CHUNK_BYTES
        for start in range(0, len(items), STATUS_BATCH):
            blobs = [u.BlobInfo(sha256=s, size=n) for s, n in items[start : start + STATUS_BATCH]]
            reply = self.client.request(u.UploadStatus(blobs=blobs), timeout=60.0)
            assert isinstance(reply, u.UploadStatusReply)
            have.update({b.sha256: reply.received.get(b.sha256, 0) for b in blobs})
            chunk = max(64 << 10, min(reply.chunk_bytes, u.MAX_CHUNK_BYTES))  # whatever the server says
        return have, chunk

    def _send_chunk(self, path: Path, sha: str, size: int, offset: int, chunk: int) -> tuple[int, bool]:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(min(chunk, u.MAX_CHUNK_BYTES))
        try:
            msg = self.client.request_message(
                u.UploadChunk(sha256=sha, size=size, offset=offset), (data,), 60.0
            )
        except RequestFailed as exc:
            if exc.code != "bad_offset":
                raise
            # the server stands elsewhere (another editor uploads the same file): go on from there
            reply = exc.reply
        else:
            reply = msg.content
        assert isinstance(reply, u.UploadChunkReply)
        return reply.received, reply.complete

    # ---- fetches -------------------------------------------------------------------------------

    def fetch(self, ref: str, local: Path, overwrite: bool = False) -> Path:
        """The file at ``ref``, written atomically to ``local`` (kept when there and not ``overwrite``)."""
        if local.is_file() and not overwrite:
            return local  # the render folder is the source of truth: a finished frame is complete
        local.parent.mkdir(parents=True, exist_ok=True)
        tmp = local.with_name(f".{local.name}.remote-tmp")
        digest = hashlib.sha256()
        offset, size, want = 0, None, ""
        try:
            with open(tmp, "wb") as f:
                while size is None or offset < size:
                    msg = self.client.request_message(u.FetchFile(ref=ref, offset=offset), timeout=60.0)
                    reply = msg.content
                    assert isinstance(reply, u.FetchFileReply)
                    data = msg.buffers[0] if msg.buffers else b""
                    size, want = reply.size, reply.sha256
                    if not data and offset < size:
                        raise RequestFailed("bad_reply", f"{ref}: an empty chunk at {offset} of {size}")
                    f.write(data)
                    digest.update(data)
                    offset += len(data)
            if digest.hexdigest() != want:
                raise RequestFailed("hash_mismatch", f"{ref} changed while it was fetched")
            os.replace(tmp, local)
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
        return local

    def sync(
        self, ref: str, wanted: Callable[[str], Path | None], skip: set[str], overwrite: bool = False
    ) -> list[Path]:
        """Fetch every file of the server's render folder ``ref`` that is wanted here (and missing,
        unless ``overwrite``), but those named in ``skip`` (fetched already)."""
        reply = self.client.request(u.ListRender(ref=ref), timeout=60.0)
        assert isinstance(reply, u.ListRenderReply)
        fetched = []
        for name in sorted(set(reply.files) - skip):
            local = wanted(name)
            if local is not None and (overwrite or not local.is_file()):
                fetched.append(self.fetch(f"{ref}/{name}", local, overwrite))
        return fetched
