"""The project model: source clip → edits (ordered like layers) → keyframes and renders.

Pydantic v2 models, persisted as ``project.json`` (schema ``"Project.1"``) by ``core.store``. Read any field
freely; change the model only through ``Project`` methods, which validate, emit ``project.events`` and are
safe to call while the autosaver snapshots from its thread. Views and the undo recorder listen::

    project.events.edit_changed.connect(lambda ev: print(ev.edit_id, ev.field, ev.old, ev.value))
    project.events.connect(on_any_change)          # autosave (gets every ProjectEvent)
    edit = project.add_edit(task="delete")         # emits EditAdded(edit_id, index, edit)
    project.set_caption(edit.id, "a red car")      # emits EditChanged(field="caption", old, value)
    project.add_keyframe(edit.id, 12)              # mask name "masks/<edit id>/000012.png"
    render = project.add_render(edit.id, plan)     # plan: a RenderPlan (or its dict)
    project.set_render_status(render.id, "running", frames_done=10)

Events are emitted on the thread that made the change (render progress may come from the runtime
client's thread): the Qt layer queues them to the UI thread.

Frame ranges are half-open like ``RenderPlan``: ``out_frame`` is one past the last frame used (the GUI's
"O" mark on frame n stores ``out_frame = n + 1``). File names in the model are relative to the project
folder, with ``/`` separators, so a project folder can move as a whole.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    ValidationError,
    WithJsonSchema,
)

from vivid_desktop.core.project_events import (
    EditAdded,
    EditChanged,
    EditMoved,
    EditRemoved,
    KeyframeAdded,
    KeyframeChanged,
    KeyframePainted,
    KeyframeRemoved,
    NameChanged,
    ProjectEvents,
    RangeChanged,
    RenderAdded,
    RenderChanged,
    RenderRemoved,
    SettingsChanged,
    SourceChanged,
)
from vivid_desktop.core.timebase import TimecodeError, format_rate, parse_rate
from vivid_desktop.protocol.jobs import DELETE_CAPTION, MAX_FRAMES, MAX_SIDE, RenderPlan, Seed, Task
from vivid_desktop.render_folder import frame_name

SCHEMA = "Project.1"

Engine = Literal["flow", "vivid"]
RenderStatus = Literal["queued", "running", "done", "failed", "cancelled"]

#: Edit fields that ``set_edit_field`` may change (keyframes and renders have their own methods).
EDIT_FIELDS = ("name", "task", "caption", "engine", "settings", "enabled", "seed", "mask_track")


class ProjectError(Exception):
    """Anything wrong with a project a user should read: unknown edit, unreadable or newer file …"""


def _to_fraction(value: Any) -> Fraction:
    if isinstance(value, bool):
        raise ValueError("a rate is a number like 25 or '30000/1001'")
    try:
        return parse_rate(value)
    except TimecodeError as exc:
        raise ValueError(str(exc)) from exc


#: A Fraction stored as ``"num/den"``.
Rate = Annotated[
    Fraction,
    PlainValidator(_to_fraction),
    PlainSerializer(format_rate, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+/\d+$", "examples": ["30000/1001"]}),
]


def mask_name(edit_id: str, frame: int) -> str:
    """The conventional keyframe mask file of an edit, relative to the project folder."""
    return f"masks/{edit_id}/{frame_name(frame)}"


def keyframe_image_name(edit_id: str, frame: int) -> str:
    """The conventional edited-keyframe image file, relative to the project folder."""
    return f"keyframes/{edit_id}/{frame_name(frame)}"


def new_id() -> str:
    return uuid.uuid4().hex[:10]


class _Model(BaseModel):
    # Files of one schema from another build keep loading; the schema string guards the rest.
    model_config = ConfigDict(extra="ignore", validate_assignment=True)


class SourceClip(_Model):
    """The clip being edited. ``fingerprint`` (see ``store.fingerprint``) finds it again after a move."""

    path: str
    fingerprint: str
    width: int = Field(gt=0, le=MAX_SIDE)
    height: int = Field(gt=0, le=MAX_SIDE)
    rate: Rate
    frame_count: int = Field(gt=0, le=MAX_FRAMES)
    in_frame: int = Field(default=0, ge=0, le=MAX_FRAMES)
    #: one past the last frame used; None = to the end of the clip
    out_frame: int | None = Field(default=None, gt=0, le=MAX_FRAMES)

    @property
    def stop(self) -> int:
        """The effective exclusive end of the range."""
        return self.frame_count if self.out_frame is None else min(self.out_frame, self.frame_count)


class Keyframe(_Model):
    """A frame with a painted mask and, once previewed or imported, its edited image."""

    frame: int = Field(ge=0, le=MAX_FRAMES)
    mask: str
    image: str | None = None


class MaskTrack(_Model):
    """Masks carried through ``[start, stop)`` by mask tracking, one PNG per frame in ``folder``."""

    folder: str
    start: int = Field(ge=0, le=MAX_FRAMES)
    stop: int = Field(gt=0, le=MAX_FRAMES)
    #: a keyframe mask changed after tracking; re-track before trusting it
    stale: bool = False


class Render(_Model):
    """One propagation run. Its frames are ``renders/<id>/{frame:06d}.png`` (the folder is the truth)."""

    id: str = Field(default_factory=new_id)
    plan: dict[str, Any]
    status: RenderStatus = "queued"
    frames_done: int = Field(default=0, ge=0, le=MAX_FRAMES)
    message: str = ""
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def render_plan(self) -> RenderPlan:
        """The plan as recorded. Its paths are a record only: to send it (resume), use
        ``ProjectStore.render_plan(render)``, which rebuilds them from the render id."""
        return RenderPlan.model_validate(self.plan)

    @property
    def start(self) -> int:
        return int(self.plan["start"])

    @property
    def stop(self) -> int:
        return int(self.plan["stop"])


class Edit(_Model):
    """One local edit, applied after the edits before it (like a layer)."""

    id: str = Field(default_factory=new_id)
    name: str = ""
    task: Task = "modify"
    caption: str = ""
    engine: Engine = "flow"
    settings: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    seed: Seed = 0
    keyframes: list[Keyframe] = Field(default_factory=list)
    mask_track: MaskTrack | None = None
    renders: list[Render] = Field(default_factory=list)

    @property
    def effective_caption(self) -> str:
        """What the model is told: the paper's fixed caption for deletion."""
        return DELETE_CAPTION if self.task == "delete" else self.caption

    def keyframe(self, frame: int) -> Keyframe | None:
        return next((k for k in self.keyframes if k.frame == frame), None)


class ProjectSettings(_Model):
    """Per-project application settings."""

    proxy: bool = True
    proxy_height: int = Field(default=540, ge=64, le=MAX_SIDE)
    default_engine: Engine = "flow"
    autosave: bool = True
    backups: int = Field(default=10, ge=0, le=1000)
    #: free-form view state the GUI remembers (playhead, zoom, overlay opacity …)
    view: dict[str, Any] = Field(default_factory=dict)


class Project(_Model):
    """The root of a project. Mutate only through its methods (they emit ``events``)."""

    schema_: Literal["Project.1"] = Field(default="Project.1", alias="schema")
    name: str
    written_by: str = ""
    source: SourceClip
    edits: list[Edit] = Field(default_factory=list)
    settings: ProjectSettings = Field(default_factory=ProjectSettings)

    model_config = ConfigDict(extra="ignore", validate_assignment=True, populate_by_name=True)

    _events: ProjectEvents = PrivateAttr()
    _lock: threading.RLock = PrivateAttr(default_factory=threading.RLock)

    def model_post_init(self, context: Any, /) -> None:
        self._events = ProjectEvents()

    def __eq__(self, other: object) -> bool:
        # Compare the persisted content only (pydantic would also compare the emitters and the lock).
        if not isinstance(other, Project):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]

    @property
    def events(self) -> ProjectEvents:
        return self._events

    @property
    def lock(self) -> threading.RLock:
        """Held by every mutation; hold it to read a consistent snapshot from another thread."""
        return self._lock

    def to_json(self) -> str:
        """The file text of ``project.json`` (a consistent snapshot, safe from any thread)."""
        with self._lock:
            return self.model_dump_json(by_alias=True, indent=2) + "\n"

    # ----------------------------------------------------------------- lookups
    def edit(self, edit_id: str) -> Edit:
        """The edit with ``edit_id``; ``ProjectError`` if there is none."""
        for e in self.edits:
            if e.id == edit_id:
                return e
        raise ProjectError(f"this project has no edit {edit_id!r}")

    def edit_index(self, edit_id: str) -> int:
        return self.edits.index(self.edit(edit_id))

    def find_render(self, render_id: str) -> tuple[Edit, Render]:
        for e in self.edits:
            for r in e.renders:
                if r.id == render_id:
                    return e, r
        raise ProjectError(f"this project has no render {render_id!r}")

    def keyframe(self, edit_id: str, frame: int) -> Keyframe:
        kf = self.edit(edit_id).keyframe(frame)
        if kf is None:
            raise ProjectError(f"edit {edit_id!r} has no keyframe at frame {frame}")
        return kf

    # ----------------------------------------------------------- project level
    def set_name(self, name: str) -> None:
        with self._lock:
            old, self.name = self.name, name
        self._events.emit(NameChanged(old=old, value=name))

    def set_source_path(self, path: str, fingerprint: str | None = None) -> None:
        """Point the source at another file (relink); the store checks the fingerprint first."""
        with self._lock:
            old = self.source.model_copy()
            self.source.path = path
            if fingerprint is not None:
                self.source.fingerprint = fingerprint
        self._events.emit(SourceChanged(old=old, value=self.source))

    def set_range(self, in_frame: int, out_frame: int | None) -> None:
        """Set the in/out range (``out_frame`` exclusive; None = end of clip)."""
        if in_frame < 0 or (out_frame is not None and not in_frame < out_frame):
            raise ProjectError(f"the range {in_frame}–{out_frame} is empty or negative")
        with self._lock:
            old = (self.source.in_frame, self.source.out_frame)
            self.source.in_frame, self.source.out_frame = in_frame, out_frame
        self._events.emit(RangeChanged(old=old, value=(in_frame, out_frame)))

    def set_setting(self, key: str, value: Any) -> None:
        """Change one of ``ProjectSettings``' fields (validated)."""
        if key not in ProjectSettings.model_fields:
            raise ProjectError(f"unknown project setting {key!r}")
        with self._lock:
            old = getattr(self.settings, key)
            setattr(self.settings, key, value)
        self._events.emit(SettingsChanged(field=key, old=old, value=getattr(self.settings, key)))

    # ------------------------------------------------------------------- edits
    def add_edit(
        self,
        task: Task = "modify",
        caption: str = "",
        engine: Engine | None = None,
        name: str = "",
        **fields: Any,
    ) -> Edit:
        """Append a new edit (on top of the others) and return it."""
        edit = Edit(
            task=task,
            caption=caption,
            engine=engine or self.settings.default_engine,
            name=name or f"Edit {len(self.edits) + 1}",
            **fields,
        )
        self.insert_edit(edit)
        return edit

    def insert_edit(self, edit: Edit, index: int | None = None) -> None:
        """Insert an existing ``Edit`` at ``index`` (end when None); used by undo."""
        with self._lock:
            if any(e.id == edit.id for e in self.edits):
                raise ProjectError(f"an edit {edit.id!r} is already in the project")
            index = len(self.edits) if index is None else max(0, min(index, len(self.edits)))
            self.edits.insert(index, edit)
        self._events.emit(EditAdded(edit_id=edit.id, index=index, edit=edit))

    def remove_edit(self, edit_id: str) -> Edit:
        with self._lock:
            index = self.edit_index(edit_id)
            edit = self.edits.pop(index)
        self._events.emit(EditRemoved(edit_id=edit_id, index=index, edit=edit))
        return edit

    def move_edit(self, edit_id: str, index: int) -> None:
        """Move an edit to position ``index`` in the layer order."""
        with self._lock:
            old = self.edit_index(edit_id)
            index = max(0, min(index, len(self.edits) - 1))
            if old == index:
                return
            self.edits.insert(index, self.edits.pop(old))
        self._events.emit(EditMoved(edit_id=edit_id, old=old, index=index))

    def set_edit_field(self, edit_id: str, field: str, value: Any) -> None:
        """Change one field of an edit (validated); emits ``edit_changed`` when the value differs."""
        if field not in EDIT_FIELDS:
            raise ProjectError(f"an edit's {field!r} cannot be set this way")
        with self._lock:
            edit = self.edit(edit_id)
            old = getattr(edit, field)
            if isinstance(old, dict | BaseModel):
                old = old.copy() if isinstance(old, dict) else old.model_copy()
            try:
                setattr(edit, field, value)
            except ValidationError as exc:
                raise ProjectError(f"{value!r} is not a valid {field} for an edit") from exc
            new = getattr(edit, field)
        if new != old:
            self._events.emit(EditChanged(edit_id=edit_id, field=field, old=old, value=new))

    def set_caption(self, edit_id: str, caption: str) -> None:
        self.set_edit_field(edit_id, "caption", caption)

    def set_task(self, edit_id: str, task: Task) -> None:
        self.set_edit_field(edit_id, "task", task)

    def set_engine(self, edit_id: str, engine: Engine) -> None:
        self.set_edit_field(edit_id, "engine", engine)

    def set_enabled(self, edit_id: str, enabled: bool) -> None:
        self.set_edit_field(edit_id, "enabled", enabled)

    def rename_edit(self, edit_id: str, name: str) -> None:
        self.set_edit_field(edit_id, "name", name)

    def set_edit_setting(self, edit_id: str, key: str, value: Any) -> None:
        """Change one entry of an edit's engine settings (a slider)."""
        settings = dict(self.edit(edit_id).settings)
        settings[key] = value
        self.set_edit_field(edit_id, "settings", settings)

    # --------------------------------------------------------------- keyframes
    def add_keyframe(
        self, edit_id: str, frame: int, mask: str | None = None, image: str | None = None
    ) -> Keyframe:
        """Add a keyframe (kept sorted by frame). ``mask`` defaults to ``mask_name(edit_id, frame)``."""
        kf = Keyframe(frame=frame, mask=mask or mask_name(edit_id, frame), image=image)
        self.insert_keyframe(edit_id, kf)
        return kf

    def insert_keyframe(self, edit_id: str, keyframe: Keyframe) -> None:
        with self._lock:
            edit = self.edit(edit_id)
            if edit.keyframe(keyframe.frame) is not None:
                raise ProjectError(f"edit {edit.name!r} already has a keyframe at frame {keyframe.frame}")
            edit.keyframes.append(keyframe)
            edit.keyframes.sort(key=lambda k: k.frame)
            self._mark_track_stale(edit)
        self._events.emit(KeyframeAdded(edit_id=edit_id, frame=keyframe.frame, keyframe=keyframe))

    def remove_keyframe(self, edit_id: str, frame: int) -> Keyframe:
        with self._lock:
            edit = self.edit(edit_id)
            kf = self.keyframe(edit_id, frame)
            edit.keyframes.remove(kf)
            self._mark_track_stale(edit)
        self._events.emit(KeyframeRemoved(edit_id=edit_id, frame=frame, keyframe=kf))
        return kf

    def set_keyframe_mask(self, edit_id: str, frame: int, mask: str) -> None:
        self._set_keyframe_field(edit_id, frame, "mask", mask)

    def set_keyframe_image(self, edit_id: str, frame: int, image: str | None) -> None:
        """Set (or clear with None) the edited image of a keyframe."""
        self._set_keyframe_field(edit_id, frame, "image", image)

    def mask_painted(self, edit_id: str, frame: int) -> None:
        """Say that a keyframe's mask pixels changed (the file name did not): marks the track stale."""
        with self._lock:
            self.keyframe(edit_id, frame)
            self._mark_track_stale(self.edit(edit_id))
        self._events.emit(KeyframePainted(edit_id=edit_id, frame=frame))

    def _set_keyframe_field(
        self, edit_id: str, frame: int, field: Literal["mask", "image"], value: str | None
    ) -> None:
        with self._lock:
            kf = self.keyframe(edit_id, frame)
            old = getattr(kf, field)
            setattr(kf, field, value)
            if field == "mask":
                self._mark_track_stale(self.edit(edit_id))
        if old != value:
            self._events.emit(
                KeyframeChanged(edit_id=edit_id, frame=frame, field=field, old=old, value=value)
            )

    @staticmethod
    def _mark_track_stale(edit: Edit) -> None:
        if edit.mask_track is not None:
            edit.mask_track.stale = True

    # ----------------------------------------------------------------- renders
    def add_render(
        self, edit_id: str, plan: RenderPlan | dict[str, Any], render_id: str | None = None
    ) -> Render:
        """Record a new render of an edit (status ``queued``)."""
        data = (
            plan.model_dump(mode="json")
            if isinstance(plan, RenderPlan)
            else RenderPlan.model_validate(plan).model_dump(mode="json")
        )
        render = Render(plan=data, id=render_id or new_id())
        with self._lock:
            self.edit(edit_id).renders.append(render)
        self._events.emit(RenderAdded(edit_id=edit_id, render_id=render.id, render=render))
        return render

    def set_render_status(
        self, render_id: str, status: RenderStatus, frames_done: int | None = None, message: str | None = None
    ) -> None:
        """Update a render's status, progress and message (from the runtime's events)."""
        with self._lock:
            edit, render = self.find_render(render_id)
            old = render.status
            render.status = status
            if frames_done is not None:
                render.frames_done = frames_done
            if message is not None:
                render.message = message
        self._events.emit(RenderChanged(edit_id=edit.id, render_id=render_id, old=old, value=status))

    def remove_render(self, render_id: str) -> Render:
        with self._lock:
            edit, render = self.find_render(render_id)
            edit.renders.remove(render)
        self._events.emit(RenderRemoved(edit_id=edit.id, render_id=render_id, render=render))
        return render
