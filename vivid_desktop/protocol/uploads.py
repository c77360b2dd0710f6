"""Messages of a remote runtime: content-addressed uploads and fetching rendered files (docs/protocol.md).

A remote runtime cannot read the editor's disk, and the editor cannot name paths on the server. Requests
to a remote runtime name **references** instead of paths:

- ``upload:<sha256>`` — a file the client uploaded (chunked, resumable, deduplicated by its hash);
- ``folder:<sha256>`` — a folder of uploaded files made by ``make_folder`` (per-frame masks);
- ``render:<key>`` / ``render:<key>/<name>`` — a folder (or a file in it) under the server's render
  folder; ``key`` is chosen by the client (a hash of the request, so a resubmitted job finds its frames).

The runtime resolves each reference inside its own upload and render folders and refuses anything else.
Files come back with ``fetch_file`` (lossless bytes, chunked, with the whole file's SHA-256).
"""

from __future__ import annotations

import re

from pydantic import Field

from vivid_desktop.protocol.messages import Content, Reply, register_message

SHA256 = r"^[0-9a-f]{64}$"
#: A render key chosen by the client, and a file name inside a render or uploaded folder.
KEY = r"^[A-Za-z0-9_-]{1,64}$"
NAME = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$"
#: The largest chunk a peer sends or asks for (well under the 16 MiB frame limit).
MAX_CHUNK_BYTES = 4 * 1024 * 1024
#: The feature a runtime lists in ``hello_reply`` when it takes uploads (a remote runtime).
UPLOADS_FEATURE = "uploads"

_REF = re.compile(r"^(upload|folder):([0-9a-f]{64})$|^render:([A-Za-z0-9_-]{1,64})(?:/([^/]{1,64}))?$")


def parse_ref(ref: str) -> tuple[str, str, str | None] | None:
    """``(kind, id, name)`` of a reference (``name`` only for ``render:<key>/<name>``), or None."""
    match = _REF.match(ref)
    if match is None:
        return None
    if match.group(1):
        return match.group(1), match.group(2), None
    name = match.group(4)
    if name is not None and not re.match(NAME, name):
        return None
    return "render", match.group(3), name


class BlobInfo(Content):
    sha256: str = Field(pattern=SHA256)
    size: int = Field(ge=0)


class UploadStatus(Content):
    """How much of each file the runtime has: ``size`` = complete (deduplicated), less = resume there."""

    blobs: list[BlobInfo] = Field(max_length=10000)


class UploadStatusReply(Reply):
    received: dict[str, int] = Field(default_factory=dict)
    chunk_bytes: int = MAX_CHUNK_BYTES


class UploadChunk(Content):
    """Bytes ``[offset, offset + len(buffers[0]))`` of the file ``sha256`` of ``size`` bytes."""

    sha256: str = Field(pattern=SHA256)
    size: int = Field(ge=0)
    offset: int = Field(ge=0)


class UploadChunkReply(Reply):
    """``received``: bytes the runtime has now (after a refused chunk: where to continue)."""

    sha256: str = ""
    received: int = 0
    complete: bool = False


class MakeFolder(Content):
    """A folder of uploaded files (name → sha256), e.g. per-frame masks ``000012.png``."""

    files: dict[str, str] = Field(max_length=100000)


class MakeFolderReply(Reply):
    ref: str = ""


class FetchFile(Content):
    """Bytes of a file under the render folder (``render:<key>/<name>``), ``length`` from ``offset``."""

    ref: str
    offset: int = Field(default=0, ge=0)
    length: int = Field(default=MAX_CHUNK_BYTES, ge=1, le=MAX_CHUNK_BYTES)


class FetchFileReply(Reply):
    """The chunk is ``buffers[0]``; ``size`` and ``sha256`` are the whole file's."""

    ref: str = ""
    offset: int = 0
    size: int = 0
    sha256: str = ""


class ListRender(Content):
    """The files of a render folder (``render:<key>``): what is finished there."""

    ref: str


class ListRenderReply(Reply):
    files: dict[str, int] = Field(default_factory=dict)


for _type, _content, _reply in (
    ("upload_status", UploadStatus, UploadStatusReply),
    ("upload_chunk", UploadChunk, UploadChunkReply),
    ("make_folder", MakeFolder, MakeFolderReply),
    ("fetch_file", FetchFile, FetchFileReply),
    ("list_render", ListRender, ListRenderReply),
):
    register_message(_type, _content)
    register_message(f"{_type}_reply", _reply, reply_to=_type)
