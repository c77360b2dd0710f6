"""A remote runtime's files: content-addressed uploads and render folders, all under one data folder.

::

    DATA/uploads/blobs/<sha256>          complete uploads (read-only, deduplicated by content)
    DATA/uploads/partial/<sha256>.part   uploads in progress (resumed where they stopped)
    DATA/uploads/folders/<sha256>/NAME   folders of uploads (hard links; copies where links fail)
    DATA/renders/<key>/                  render folders (what jobs write; what clients fetch)
    DATA/cache/<sha256>/                 per-source engine caches (the flow cache)

Every path comes from a reference (:func:`vivid_desktop.protocol.uploads.parse_ref`) whose parts match
strict patterns, and is resolved and checked to stay inside its folder before it is used: a client can
make the runtime read or write nothing else.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import threading
import uuid
from pathlib import Path

from vivid_desktop.protocol.uploads import NAME, SHA256, parse_ref


class StoreError(ValueError):
    """A reference or an upload the store refuses; ``code`` is the protocol error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _inside(path: Path, root: Path) -> Path:
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise StoreError("bad_reference", "a reference resolves outside the runtime's folders")
    return resolved


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class ServerFiles:
    """The upload, render and cache folders of a remote runtime."""

    def __init__(self, data: Path, max_upload_bytes: int = 64 << 30) -> None:
        self.data = data.resolve()
        self.blobs = self.data / "uploads" / "blobs"
        self.partial = self.data / "uploads" / "partial"
        self.folders = self.data / "uploads" / "folders"
        self.renders = self.data / "renders"
        self.cache = self.data / "cache"
        for folder in (self.blobs, self.partial, self.folders, self.renders, self.cache):
            folder.mkdir(parents=True, exist_ok=True)
        self.max_upload_bytes = max_upload_bytes
        self._lock = threading.Lock()

    # ---- uploads -------------------------------------------------------------------------------

    def received(self, sha256: str) -> int:
        """Bytes of ``sha256`` held: its size when complete, the partial length, or 0."""
        blob = self.blobs / sha256
        if blob.is_file():
            return blob.stat().st_size
        part = self.partial / f"{sha256}.part"
        return part.stat().st_size if part.is_file() else 0

    def write_chunk(self, sha256: str, size: int, offset: int, data: bytes) -> tuple[int, bool]:
        """Append a chunk at ``offset`` (must be where the upload stands); ``(received, complete)``."""
        if not re.match(SHA256, sha256):
            raise StoreError("bad_reference", "not a SHA-256")
        if size > self.max_upload_bytes:
            raise StoreError("too_large", f"uploads are limited to {self.max_upload_bytes} bytes")
        with self._lock:
            have = self.received(sha256)
            if (self.blobs / sha256).is_file():
                return have, True
            if offset != have or offset + len(data) > size:
                raise StoreError("bad_offset", f"the upload stands at {have} bytes")
            part = self.partial / f"{sha256}.part"
            with open(part, "ab") as f:
                f.write(data)
            have += len(data)
            if have < size:
                return have, False
            # complete: set it aside (nobody appends to it now) and check it outside the lock, so other
            # uploads go on while a big file is hashed
            checking = self.partial / f"{sha256}.{uuid.uuid4().hex}.check"
            os.replace(part, checking)
        good = file_sha256(checking) == sha256
        with self._lock:
            if not good:
                checking.unlink()
                raise StoreError(
                    "hash_mismatch", "the uploaded bytes do not match their SHA-256; upload again"
                )
            os.chmod(checking, 0o444)
            os.replace(checking, self.blobs / sha256)
        return size, True

    def make_folder(self, files: dict[str, str]) -> str:
        """A folder of complete uploads under their names; its reference ``folder:<sha256>``."""
        for name, sha in files.items():
            if not re.match(NAME, name) or not re.match(SHA256, sha):
                raise StoreError("bad_reference", f"bad folder entry {name[:64]!r}")
            if not (self.blobs / sha).is_file():
                raise StoreError("file_not_found", f"{name}: not uploaded yet")
        manifest = json.dumps(sorted(files.items())).encode()
        digest = hashlib.sha256(manifest).hexdigest()
        folder = self.folders / digest
        if not folder.is_dir():
            tmp = self.folders / f".{digest}.tmp-{threading.get_ident()}"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            for name, sha in files.items():
                try:
                    os.link(self.blobs / sha, tmp / name)
                except OSError:
                    shutil.copyfile(self.blobs / sha, tmp / name)
            try:
                os.replace(tmp, folder)
            except OSError:  # made by another client meanwhile
                shutil.rmtree(tmp, ignore_errors=True)
        return f"folder:{digest}"

    # ---- references ----------------------------------------------------------------------------

    def resolve(self, ref: str, *, want: str) -> Path:
        """The checked path of a reference of kind ``want``: input, folder, render_dir or render_file."""
        parsed = parse_ref(ref) if isinstance(ref, str) else None
        if parsed is None:
            raise StoreError(
                "bad_reference", f"not a reference: {str(ref)[:80]!r} (remote runtimes take no paths)"
            )
        kind, ident, name = parsed
        if want == "input" and kind == "upload":
            path = _inside(self.blobs / ident, self.blobs)
            if not path.is_file():
                raise StoreError("file_not_found", f"{ref} was not uploaded")
            return self.touch(path)
        if want == "folder" and kind == "folder":
            path = _inside(self.folders / ident, self.folders)
            if not path.is_dir():
                raise StoreError("file_not_found", f"{ref} does not exist")
            for linked in path.iterdir():  # a hard link: its blob is marked used too
                self.touch(linked)
            return self.touch(path)
        if kind == "render" and want == "render_dir" and name is None:
            return self.touch(_inside(self.renders / ident, self.renders))
        if kind == "render" and want == "render_file" and name is not None:
            self.touch(_inside(self.renders / ident, self.renders))
            return _inside(self.renders / ident / name, self.renders / ident)
        raise StoreError("bad_reference", f"{ref[:80]!r} cannot be used here")

    def cache_for(self, source: Path) -> Path:
        """The engine cache folder of one uploaded source (its blob's name is its hash)."""
        return self.touch(_inside(self.cache / source.name, self.cache))

    @staticmethod
    def touch(path: Path) -> Path:
        """Mark ``path`` as used now (what ``--keep-days`` measures; see retention.py)."""
        with contextlib.suppress(OSError):  # not made yet (a render folder before its job): nothing to mark
            os.utime(path)
        return path

    def to_ref(self, path: str) -> str:
        """A render path the runtime wrote, as the reference a client can fetch (else unchanged)."""
        try:
            rel = Path(path).resolve().relative_to(self.renders)
        except ValueError:
            return path
        return "render:" + "/".join(rel.parts)

    def read(self, ref: str, offset: int, length: int) -> tuple[bytes, int, str]:
        """``(chunk, whole size, whole sha256)`` of a rendered file."""
        path = self.resolve(ref, want="render_file")
        if not path.is_file():
            raise StoreError("file_not_found", f"{ref} does not exist (yet)")
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(length)
        return data, path.stat().st_size, file_sha256(path)

    def listing(self, ref: str) -> dict[str, int]:
        """Finished files of a render folder (hidden temp files left out)."""
        folder = self.resolve(ref, want="render_dir")
        if not folder.is_dir():
            return {}
        return {
            p.name: p.stat().st_size
            for p in folder.iterdir()
            if p.is_file() and not p.is_symlink() and re.match(NAME, p.name)
        }
