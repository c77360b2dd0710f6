"""Menus, actions and keyboard shortcuts of the main window (NLE conventions), as one table.

``MENUS`` lists every menu entry once: the key it is stored under (``window.actions_by_name``), its
text, the slot (a function of the window, so the table needs no window to exist), the shortcuts, an
icon. ``build_menus`` makes the menus from it and ``shortcut_rows`` the F1 sheet, so the sheet always
lists what the keys do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu

from vivid_desktop.qt.painter import TOOLS
from vivid_desktop.qt.studio_actions import export_timeline, propagate_on_cluster
from vivid_desktop.qt.style import icon

if TYPE_CHECKING:
    from vivid_desktop.qt.main_window import MainWindow

Slot = Callable[["MainWindow"], Callable[..., Any]]


@dataclass(frozen=True)
class Entry:
    """One menu action."""

    key: str
    text: str
    slot: Slot
    keys: tuple[str, ...] = ()
    icon: str | None = None
    checkable: bool = False
    checked: bool = False
    group: str | None = None  # entries of one group are exclusive (compare modes)


@dataclass(frozen=True)
class Submenu:
    title: str
    entries: tuple[Entry | None, ...]
    name: str = ""  # the window attribute the QMenu is stored as (filled at run time, e.g. recent)


def _calls(method: str, value: str) -> Slot:
    """The slot that calls the window's ``method(value)`` (the action's ``checked`` is dropped)."""

    def slot(window: MainWindow) -> Callable[..., Any]:
        return lambda _checked=False: getattr(window, method)(value)

    return slot


SEP = None
_COMPARE = (("off", "Off (result)"), ("wipe", "Wipe"), ("side", "Side by side"), ("difference", "Difference"))

MENUS: tuple[tuple[str, tuple[Entry | Submenu | None, ...]], ...] = (
    ("&File", (
        Entry("open", "&Open clip or project…", lambda w: w.choose_file, ("Ctrl+O",), "open"),
        Entry("open_project", "Open project &folder…", lambda w: w.choose_project_folder, ("Ctrl+Shift+O",)),
        Submenu("Open &recent", (), name="recent_menu"),
        Entry("demo", "Open the &demo", lambda w: w.open_demo),
        SEP,
        Entry("save", "&Save", lambda w: w.session.save, ("Ctrl+S",), "save"),
        Entry("revert", "Re&vert to backup…", lambda w: w.show_backups),
        Entry("disk", "Disk &use and clean-up…", lambda w: w.show_disk_use),
        Entry("export", "&Export…", lambda w: w.show_export, ("Ctrl+E",), "export"),
        Entry("export_timeline", "Export &timeline for an NLE…", lambda w: lambda: export_timeline(w)),
        SEP,
        Entry("settings", "Se&ttings…", lambda w: w.show_settings, ("Ctrl+,",), "settings"),
        Entry("models", "&Models and LoRAs…", lambda w: w.show_model_manager),
        SEP,
        Entry("quit", "&Quit", lambda w: w.close, ("Ctrl+Q",)),
    )),
    ("&Edit", (
        Entry("undo", "&Undo", lambda w: w.undo, ("Ctrl+Z",), "undo"),
        Entry("redo", "&Redo", lambda w: w.redo, ("Ctrl+Shift+Z", "Ctrl+Y"), "redo"),
        SEP,
        Submenu("&New edit", (
            Entry("new_delete", "Remove an object", lambda w: lambda: w.session.new_edit("delete")),
            Entry("new_add", "Add an object", lambda w: lambda: w.session.new_edit("add")),
            Entry("new_modify", "Modify an object", lambda w: lambda: w.session.new_edit("modify")),
        )),
        Entry("add_keyframe", "Add &keyframe here", lambda w: w.edits_panel.add_keyframe, ("Ctrl+K",),
              "keyframe"),
        Entry("remove_keyframe", "Remove keyframe here", lambda w: w.edits_panel.remove_keyframe,
              ("Ctrl+Shift+K",)),

    )),
    ("&View", (
        Entry("zoom_fit", "Zoom to &fit", lambda w: w.viewer.zoom_fit, ("Ctrl+0", "F"), "zoom-fit"),
        Entry("zoom_100", "Zoom &100 %", lambda w: w.viewer.zoom_100, ("Ctrl+1",), "zoom-100"),
        Entry("zoom_in", "Zoom in", lambda w: lambda: w.viewer.set_zoom(w.viewer.zoom * 1.25), ("Ctrl+=",)),
        Entry("zoom_out", "Zoom out", lambda w: lambda: w.viewer.set_zoom(w.viewer.zoom / 1.25), ("Ctrl+-",)),
        SEP,
        Submenu("&Compare with source", tuple(
            Entry(f"compare_{mode}", label, _calls("set_compare", mode),
                  (f"Shift+{i + 1}",), checkable=True, checked=mode == "off", group="compare")
            for i, (mode, label) in enumerate(_COMPARE)
        )),
        SEP,
        Entry("show_mask", "Show &mask", lambda w: w.toggle_show_mask, ("M",), checkable=True, checked=True),
        Entry("mask_only", "Mask &only", lambda w: w.toggle_mask_only, ("Shift+M",), checkable=True),
        Entry("latent_preview", "&Latent preview while rendering", lambda w: w.toggle_latent_preview,
              ("Shift+P",), checkable=True, checked=True),
        SEP,
        Entry("timeline_in", "Timeline zoom in", lambda w: lambda: w.timeline.zoom_by(1.5), ("=",)),
        Entry("timeline_out", "Timeline zoom out", lambda w: lambda: w.timeline.zoom_by(1 / 1.5), ("-",)),
        Entry("timeline_fit", "Timeline fit", lambda w: w.timeline.zoom_fit, ("Shift+Z",)),
    )),
    ("&Playback", (
        Entry("play", "&Play / pause", lambda w: w.transport.play_pause, ("Space",), "play"),
        Entry("stop", "Stop", lambda w: w.transport.stop, ("K",)),
        Entry("backward", "Play backwards (again: faster)", lambda w: w.transport.backward, ("J",),
              "play-back"),
        Entry("forward", "Play forwards (again: faster)", lambda w: w.transport.forward, ("L",),
              "play-forward"),
        Entry("mute", "&Mute audio", lambda w: w.toggle_mute, ("Ctrl+M",), checkable=True),
        SEP,
        Entry("prev_frame", "Previous frame", lambda w: lambda: w.transport.step(-1), ("Left",), "step-back"),
        Entry("next_frame", "Next frame", lambda w: lambda: w.transport.step(1), ("Right",), "step-forward"),
        Entry("back_second", "Back one second", lambda w: lambda: w.transport.step_seconds(-1),
              ("Shift+Left",)),
        Entry("forward_second", "Forward one second", lambda w: lambda: w.transport.step_seconds(1),
              ("Shift+Right",)),
        Entry("start", "Go to start", lambda w: w.transport.go_start, ("Home",), "go-start"),
        Entry("end", "Go to end", lambda w: w.transport.go_end, ("End",), "go-end"),
        Entry("go_to", "&Go to timecode or frame…", lambda w: w.transport_bar.timecode.start_typing,
              ("Ctrl+G",)),
        Entry("prev_key", "Previous keyframe", lambda w: lambda: w.jump_keyframe(-1), ("Up",)),
        Entry("next_key", "Next keyframe", lambda w: lambda: w.jump_keyframe(+1), ("Down",)),
        SEP,
        Entry("mark_in", "Mark &in", lambda w: w.session.set_mark_in, ("I",)),
        Entry("mark_out", "Mark &out", lambda w: w.session.set_mark_out, ("O",)),
        Entry("clear_marks", "Clear marks", lambda w: w.session.clear_marks, ("Alt+X",)),
    )),
    ("&Mask", (
        *(
            Entry(f"tool_{name}", label, _calls("set_tool", name), (key,), icon_name)
            for name, (label, key, icon_name) in TOOLS.items()
        ),
        SEP,
        Entry("brush_smaller", "Smaller brush", lambda w: lambda: w.scale_brush(1 / 1.25), ("[",)),
        Entry("brush_bigger", "Bigger brush", lambda w: lambda: w.scale_brush(1.25), ("]",)),
        SEP,
        Entry("copy_prev", "Copy mask from previous keyframe",
              lambda w: lambda: w.mask_operation("copy_prev"), ("Ctrl+Shift+V",)),
        Entry("clear_mask", "Clear mask", lambda w: lambda: w.mask_operation("clear"), ("Shift+Del",)),
        Entry("track", "&Track mask", lambda w: w.tracker.track, ("Ctrl+T",), "track"),
        Entry("import_mask_video", "Import mask video…", lambda w: w.mask_import.choose_video),
        Entry("import_mask_folder", "Import mask folder…", lambda w: w.mask_import.choose_folder),
    )),
    ("&Render", (
        Entry("preview", "&Preview keyframe", lambda w: lambda: w.keyframes.preview(), ("Ctrl+P",),
              "preview"),
        Entry("cancel_preview", "Cancel keyframe preview", lambda w: w.keyframes.cancel, ("Escape",)),
        Entry("external", "Edit keyframe in image editor…", lambda w: lambda: w.keyframes.edit_externally(),
              ("Ctrl+Shift+E",)),
        Entry("propagate", "Pro&pagate", lambda w: w.run_propagate, ("Ctrl+Return", "Ctrl+Enter"),
              "propagate"),
        Entry("cluster", "Render on c&luster…", lambda w: lambda: propagate_on_cluster(w)),
        Entry("cancel_render", "&Cancel render", lambda w: w.propagate.cancel, ("Ctrl+.",), "cancel"),
        Entry("resume", "&Resume render", lambda w: w.propagate.resume),
        SEP,
        Entry("restart_runtime", "Restart the runtime", lambda w: w.restart_runtime),
    )),
    ("&Workspace", (
        Entry("workspace_edit", "&Edit", lambda w: w.workspaces.show_editor, ("Ctrl+F1",)),
        Entry("workspace_train", "&Train a LoRA", lambda w: w.workspaces.show_trainer, ("Ctrl+F2",)),
    )),
    ("&Help", (
        Entry("shortcuts", "Keyboard shortcuts", lambda w: w.show_shortcuts, ("F1",)),
        Entry("about", "About VIVID Desktop", lambda w: w.show_about),
    )),
)  # fmt: skip

#: Keys that belong to the viewer only (a caption field needs Enter and Esc too).
VIEWER_KEYS = (
    Entry("finish_tool", "Close polygon", lambda w: w.finish_tool, ("Return", "Enter")),
    Entry("cancel_tool", "Cancel drawing", lambda w: w.cancel_tool, ("Escape",)),
)


def _action(w: MainWindow, entry: Entry, groups: dict[str, QActionGroup]) -> QAction:
    action = QAction(entry.text, w)
    action.setObjectName(f"action_{entry.key}")
    if entry.keys:
        action.setShortcuts([QKeySequence(k) for k in entry.keys])
        action.setToolTip(f"{entry.text.replace('&', '')} ({QKeySequence(entry.keys[0]).toString()})")
    if entry.icon:
        action.setIcon(icon(entry.icon))
    action.setCheckable(entry.checkable)
    if entry.group:
        groups.setdefault(entry.group, QActionGroup(w)).addAction(action)
    action.setChecked(entry.checked)
    action.triggered.connect(entry.slot(w))
    w.actions_by_name[entry.key] = action
    return action


def _fill(w: MainWindow, menu: QMenu, entries, groups: dict[str, QActionGroup]) -> None:
    for entry in entries:
        if entry is None:
            menu.addSeparator()
        elif isinstance(entry, Submenu):
            sub = menu.addMenu(entry.title)
            if entry.name:
                setattr(w, entry.name, sub)
            _fill(w, sub, entry.entries, groups)
        else:
            menu.addAction(_action(w, entry, groups))


def build_menus(w: MainWindow) -> None:
    """Create every menu and action of ``w`` from ``MENUS`` (stored in ``w.actions_by_name``)."""
    groups: dict[str, QActionGroup] = {}
    for title, entries in MENUS:
        _fill(w, w.menuBar().addMenu(title), entries, groups)
    w.recent_menu.aboutToShow.connect(w.fill_recent_menu)
    for entry in VIEWER_KEYS:
        action = _action(w, entry, groups)
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        w.viewer.addAction(action)


def _entries(entries) -> Iterator[Entry]:
    for entry in entries:
        if isinstance(entry, Submenu):
            yield from _entries(entry.entries)
        elif entry is not None:
            yield entry


def shortcut_rows() -> list[tuple[str, str, str]]:
    """``(section, what, keys)`` for every action with a key, in menu order (the F1 sheet)."""
    rows = []
    for title, entries in MENUS:
        for e in _entries(entries):
            if e.keys:
                keys = ", ".join(
                    QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in e.keys
                )
                rows.append((title.replace("&", ""), e.text.replace("&", "").rstrip("…"), keys))
    for e in VIEWER_KEYS:
        rows.append(("Viewer", e.text, ", ".join(e.keys)))
    return rows
