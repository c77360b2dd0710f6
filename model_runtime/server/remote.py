"""What makes a session remote: upload and fetch handlers, and requests mapped onto the server's folders.

A remote client names references, never paths (:mod:`vivid_desktop.protocol.uploads`). Before a job is
checked, :func:`localize` turns every reference into a path inside the server's folders and refuses
anything else (a path, a reference of the wrong kind, an unknown model). Events going back have their
render paths turned into references again (:func:`publish`), which the client fetches.
"""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from model_runtime.engines.base import EngineError
from model_runtime.server.session import ClientSession
from model_runtime.server.uploads import ServerFiles, StoreError
from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol import uploads as u
from vivid_desktop.protocol.envelope import Message
from vivid_desktop.protocol.jobs import EditKeyframeRequest, KeyframeSpec, RenderPlan, TrackMasksRequest

log = logging.getLogger("vivid.runtime")


class RemoteRules:
    """The server's folders and models, and how one remote session uses them."""

    def __init__(self, files: ServerFiles, models: Path | None = None) -> None:
        self.files = files
        self.models = models.resolve() if models is not None else None

    def attach(self, session: ClientSession) -> None:
        session.handlers.update(
            {
                "upload_status": self._upload_status,
                "upload_chunk": self._upload_chunk,
                "make_folder": self._make_folder,
                "fetch_file": self._fetch_file,
                "list_render": self._list_render,
            }
        )
        session.localize = self.localize
        session.publish = self.publish

    # ---- handlers ------------------------------------------------------------------------------

    def _upload_status(self, session: ClientSession, msg: Message) -> None:
        content = msg.content
        assert isinstance(content, u.UploadStatus)
        received = {b.sha256: min(b.size, self.files.received(b.sha256)) for b in content.blobs}
        session.reply(msg, u.UploadStatusReply(received=received))

    def _upload_chunk(self, session: ClientSession, msg: Message) -> None:
        c = msg.content
        assert isinstance(c, u.UploadChunk)
        if msg.buffers and c.offset + len(msg.buffers[0]) >= c.size:
            # the last chunk: the whole file is hashed, which must not hold up this session's pings
            threading.Thread(
                target=self._store_chunk, args=(session, msg), name="vivid-upload-check", daemon=True
            ).start()
        else:
            self._store_chunk(session, msg)

    def _store_chunk(self, session: ClientSession, msg: Message) -> None:
        c = msg.content
        assert isinstance(c, u.UploadChunk)
        if len(msg.buffers) != 1 or len(msg.buffers[0]) > u.MAX_CHUNK_BYTES:
            error = m.ErrorInfo(code="bad_request", message="an upload chunk carries one buffer of ≤ 4 MiB")
            session.reply(msg, u.UploadChunkReply(ok=False, error=error, sha256=c.sha256))
            return
        try:
            received, complete = self.files.write_chunk(c.sha256, c.size, c.offset, msg.buffers[0])
        except StoreError as exc:
            error = m.ErrorInfo(code=exc.code, message=exc.message)
            have = self.files.received(c.sha256)
            session.reply(msg, u.UploadChunkReply(ok=False, error=error, sha256=c.sha256, received=have))
            return
        session.reply(msg, u.UploadChunkReply(sha256=c.sha256, received=received, complete=complete))

    def _make_folder(self, session: ClientSession, msg: Message) -> None:
        assert isinstance(msg.content, u.MakeFolder)
        try:
            session.reply(msg, u.MakeFolderReply(ref=self.files.make_folder(msg.content.files)))
        except StoreError as exc:
            session.reply(
                msg, u.MakeFolderReply(ok=False, error=m.ErrorInfo(code=exc.code, message=exc.message))
            )

    def _fetch_file(self, session: ClientSession, msg: Message) -> None:
        c = msg.content
        assert isinstance(c, u.FetchFile)
        try:
            data, size, sha = self.files.read(c.ref, c.offset, c.length)
        except StoreError as exc:
            error = m.ErrorInfo(code=exc.code, message=exc.message)
            session.reply(msg, u.FetchFileReply(ok=False, error=error, ref=c.ref[:200]))
            return
        reply = u.FetchFileReply(ref=c.ref, offset=c.offset, size=size, sha256=sha)
        session.reply(msg, reply, buffers=(data,))

    def _list_render(self, session: ClientSession, msg: Message) -> None:
        assert isinstance(msg.content, u.ListRender)
        try:
            session.reply(msg, u.ListRenderReply(files=self.files.listing(msg.content.ref)))
        except StoreError as exc:
            session.reply(
                msg, u.ListRenderReply(ok=False, error=m.ErrorInfo(code=exc.code, message=exc.message))
            )

    # ---- requests and events -------------------------------------------------------------------

    def localize(self, kind: str, request: BaseModel) -> BaseModel:
        """The request with every reference replaced by a checked path; :class:`EngineError` if refused."""
        try:
            return self._localize(kind, request)
        except StoreError as exc:
            raise EngineError(exc.code, exc.message) from None

    def _localize(self, kind: str, request: BaseModel) -> BaseModel:
        files = self.files
        if not isinstance(request, EditKeyframeRequest | TrackMasksRequest | RenderPlan):
            raise StoreError("bad_request", f"{kind} does not run on a remote runtime; run it on the server")
        source = files.resolve(request.source, want="input")
        update: dict[str, Any] = {"source": str(source), "settings": self._settings(request.settings, source)}
        if isinstance(request, EditKeyframeRequest):
            update["mask"] = str(files.resolve(request.mask, want="input"))
            update["output"] = str(files.resolve(request.output, want="render_file"))
        elif isinstance(request, TrackMasksRequest):
            update["anchors"] = [self._keyframe(k) for k in request.anchors]
            update["output_dir"] = str(files.resolve(request.output_dir, want="render_dir"))
        else:
            if request.mask is not None:
                update["mask"] = str(files.resolve(request.mask, want="input"))
            if request.mask_dir is not None:
                update["mask_dir"] = str(files.resolve(request.mask_dir, want="folder"))
            update["keyframes"] = [self._keyframe(k) for k in request.keyframes]
            update["output_dir"] = str(files.resolve(request.output_dir, want="render_dir"))
        return request.model_copy(update=update)

    def _keyframe(self, key: KeyframeSpec) -> KeyframeSpec:
        image = None if key.image is None else str(self.files.resolve(key.image, want="input"))
        return key.model_copy(
            update={"mask": str(self.files.resolve(key.mask, want="input")), "image": image}
        )

    def _settings(self, settings: dict[str, object], source: Path) -> dict[str, object]:
        """Engine settings with the server's own folders: the cache per source, models by name."""
        out: dict[str, object] = {}
        for key, value in settings.items():
            if key == "cache_dir":
                continue
            if key == "model" and value is not None:
                out[key] = str(self._model(value))
            elif key == "loras" and isinstance(value, list):
                out[key] = [str(self._model(v)) for v in value]
            elif _looks_like_path(value):
                raise StoreError(
                    "bad_request", f"setting {key[:40]!r} names a path; a remote runtime takes none"
                )
            else:
                out[key] = value
        out["cache_dir"] = str(self.files.cache_for(source))
        return out

    def _model(self, value: object) -> Path:
        """A model folder or LoRA file of the server, by its name under ``--models``."""
        name = re.split(r"[\\/]", str(value).rstrip("/\\"))[-1]
        if self.models is None:
            raise StoreError("model_not_found", "this runtime serves no models (start it with --models DIR)")
        if not re.match(u.NAME, name):
            raise StoreError("model_not_found", f"not a model name: {name[:64]!r}")
        path = (self.models / name).resolve()
        if not path.is_relative_to(self.models) or not path.exists():
            raise StoreError("model_not_found", f"the server has no model {name!r} in its models folder")
        return path

    def publish(self, content: BaseModel) -> BaseModel:
        """Render paths in an event turned into references the client can fetch."""
        if isinstance(content, m.FrameReady):
            return content.model_copy(update={"path": self.files.to_ref(content.path)})
        if isinstance(content, m.Succeeded):
            result = {k: self.files.to_ref(v) if isinstance(v, str) else v for k, v in content.result.items()}
            return content.model_copy(update={"result": result})
        return content


def _looks_like_path(value: object) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(isinstance(v, str) and ("/" in v or "\\" in v) for v in values)
