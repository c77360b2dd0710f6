"""Menus, actions and keyboard shortcuts of the main window (NLE conventions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu

from vivid_desktop.qt.style import icon

if TYPE_CHECKING:
    from vivid_desktop.qt.main_window import MainWindow


def _add(
    window: MainWindow,
    menu: QMenu,
    key: str,
    text: str,
    slot: Callable[..., object],
    shortcut: str | list[str] | None = None,
    icon_name: str | None = None,
    checkable: bool = False,
) -> QAction:
    action = QAction(text, window)
    action.setObjectName(f"action_{key}")
    if shortcut:
        shortcuts = [shortcut] if isinstance(shortcut, str) else shortcut
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setToolTip(f"{text.replace('&', '')} ({QKeySequence(shortcuts[0]).toString()})")
    if icon_name:
        action.setIcon(icon(icon_name))
    action.setCheckable(checkable)
    action.triggered.connect(slot)
    menu.addAction(action)
    window.actions_by_name[key] = action
    return action


def build_menus(w: MainWindow) -> None:
    """Create every menu and action of ``w`` (stored in ``w.actions_by_name``)."""
    s, t = w.session, w.transport
    bar = w.menuBar()

    m = bar.addMenu("&File")
    _add(w, m, "open", "&Open clip or project…", w.choose_file, "Ctrl+O", "open")
    w.recent_menu = m.addMenu("Open &recent")
    w.recent_menu.aboutToShow.connect(w.fill_recent_menu)
    _add(w, m, "demo", "Open the &demo", w.open_demo)
    m.addSeparator()
    _add(w, m, "save", "&Save", s.save, "Ctrl+S", "save")
    _add(w, m, "export", "&Export…", w.show_export, "Ctrl+E", "export")
    m.addSeparator()
    _add(w, m, "settings", "Se&ttings…", w.show_settings, "Ctrl+,", "settings")
    _add(w, m, "models", "&Models and LoRAs…", w.show_model_manager)
    m.addSeparator()
    _add(w, m, "quit", "&Quit", w.close, "Ctrl+Q")

    m = bar.addMenu("&Edit")
    _add(w, m, "undo", "&Undo", w.undo, "Ctrl+Z", "undo")
    _add(w, m, "redo", "&Redo", w.redo, ["Ctrl+Shift+Z", "Ctrl+Y"], "redo")
    m.addSeparator()
    new = m.addMenu("&New edit")
    _add(w, new, "new_delete", "Remove an object", lambda: s.new_edit("delete"))
    _add(w, new, "new_add", "Add an object", lambda: s.new_edit("add"))
    _add(w, new, "new_modify", "Modify an object", lambda: s.new_edit("modify"))
    _add(w, m, "add_keyframe", "Add &keyframe here", w.edits_panel._add_keyframe, "Ctrl+K", "keyframe")
    _add(w, m, "remove_keyframe", "Remove keyframe here", w.edits_panel._remove_keyframe, "Ctrl+Shift+K")

    m = bar.addMenu("&View")
    _add(w, m, "zoom_fit", "Zoom to &fit", w.viewer.zoom_fit, ["Ctrl+0", "F"], "zoom-fit")
    _add(w, m, "zoom_100", "Zoom &100 %", w.viewer.zoom_100, "Ctrl+1", "zoom-100")
    _add(w, m, "zoom_in", "Zoom in", lambda: w.viewer.set_zoom(w.viewer.zoom * 1.25), "Ctrl+=")
    _add(w, m, "zoom_out", "Zoom out", lambda: w.viewer.set_zoom(w.viewer.zoom / 1.25), "Ctrl+-")
    m.addSeparator()
    compare = m.addMenu("&Compare with source")
    group = QActionGroup(w)
    for i, (mode, label) in enumerate(
        (("off", "Off (result)"), ("wipe", "Wipe"), ("side", "Side by side"), ("difference", "Difference"))
    ):
        a = _add(
            w,
            compare,
            f"compare_{mode}",
            label,
            lambda _c=False, m_=mode: w.set_compare(m_),
            f"Shift+{i + 1}",
            checkable=True,
        )
        group.addAction(a)
        a.setChecked(mode == "off")
    m.addSeparator()
    _add(w, m, "show_mask", "Show &mask", w.toggle_show_mask, "M", checkable=True).setChecked(True)
    _add(w, m, "mask_only", "Mask &only", w.toggle_mask_only, "Shift+M", checkable=True)
    m.addSeparator()
    _add(w, m, "timeline_in", "Timeline zoom in", lambda: w.timeline.zoom_by(1.5), "=")
    _add(w, m, "timeline_out", "Timeline zoom out", lambda: w.timeline.zoom_by(1 / 1.5), "-")
    _add(w, m, "timeline_fit", "Timeline fit", w.timeline.zoom_fit, "Shift+Z")

    m = bar.addMenu("&Playback")
    _add(w, m, "play", "&Play / pause", t.play_pause, "Space", "play")
    _add(w, m, "stop", "Stop", t.stop, "K")
    _add(w, m, "backward", "Play backwards (again: faster)", t.backward, "J", "play-back")
    _add(w, m, "forward", "Play forwards (again: faster)", t.forward, "L", "play-forward")
    m.addSeparator()
    _add(w, m, "prev_frame", "Previous frame", lambda: t.step(-1), "Left", "step-back")
    _add(w, m, "next_frame", "Next frame", lambda: t.step(1), "Right", "step-forward")
    _add(w, m, "back_second", "Back one second", lambda: t.step_seconds(-1), "Shift+Left")
    _add(w, m, "forward_second", "Forward one second", lambda: t.step_seconds(1), "Shift+Right")
    _add(w, m, "start", "Go to start", t.go_start, "Home", "go-start")
    _add(w, m, "end", "Go to end", t.go_end, "End", "go-end")
    _add(w, m, "go_to", "&Go to timecode or frame…", w.transport_bar.timecode.start_typing, "Ctrl+G")
    _add(w, m, "prev_key", "Previous keyframe", lambda: w.jump_keyframe(-1), "Up")
    _add(w, m, "next_key", "Next keyframe", lambda: w.jump_keyframe(+1), "Down")
    m.addSeparator()
    _add(w, m, "mark_in", "Mark &in", s.set_mark_in, "I")
    _add(w, m, "mark_out", "Mark &out", s.set_mark_out, "O")
    _add(w, m, "clear_marks", "Clear marks", s.clear_marks, "Alt+X")

    m = bar.addMenu("&Mask")
    for name, (label, key, icon_name) in w.TOOLS.items():
        _add(w, m, f"tool_{name}", label, lambda _c=False, n=name: w.set_tool(n), key, icon_name)
    m.addSeparator()
    _add(w, m, "brush_smaller", "Smaller brush", lambda: w.scale_brush(1 / 1.25), "[")
    _add(w, m, "brush_bigger", "Bigger brush", lambda: w.scale_brush(1.25), "]")
    # Enter and Esc belong to the viewer only (a caption field needs them too).
    for key, text, slot, shortcut in (
        ("finish_tool", "Close polygon", w.finish_tool, ["Return", "Enter"]),
        ("cancel_tool", "Cancel drawing", w.cancel_tool, ["Escape"]),
    ):
        action = QAction(text, w.viewer)
        action.setShortcuts([QKeySequence(k) for k in shortcut])
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        action.triggered.connect(slot)
        w.viewer.addAction(action)
        w.actions_by_name[key] = action
    m.addSeparator()
    _add(
        w,
        m,
        "copy_prev",
        "Copy mask from previous keyframe",
        lambda: w.mask_operation("copy_prev"),
        "Ctrl+Shift+V",
    )
    _add(w, m, "clear_mask", "Clear mask", lambda: w.mask_operation("clear"), "Shift+Del")
    _add(w, m, "track", "&Track mask", w.tracker.track, "Ctrl+T", "track")

    m = bar.addMenu("&Render")
    _add(w, m, "preview", "&Preview keyframe", lambda: w.keyframes.preview(), "Ctrl+P", "preview")
    _add(
        w,
        m,
        "external",
        "Edit keyframe in image editor…",
        lambda: w.keyframes.edit_externally(),
        "Ctrl+Shift+E",
    )
    _add(w, m, "propagate", "Pro&pagate", w.run_propagate, ["Ctrl+Return", "Ctrl+Enter"], "propagate")
    _add(w, m, "cancel_render", "&Cancel render", w.propagate.cancel, "Ctrl+.", "cancel")
    _add(w, m, "resume", "&Resume render", w.propagate.resume)
    m.addSeparator()
    _add(w, m, "restart_runtime", "Restart the runtime", w.restart_runtime)

    m = bar.addMenu("&Workspace")
    _add(w, m, "workspace_edit", "&Edit", w.workspaces.show_editor, "Ctrl+F1")
    _add(w, m, "workspace_train", "&Train a LoRA", w.workspaces.show_trainer, "Ctrl+F2")

    m = bar.addMenu("&Help")
    _add(w, m, "shortcuts", "Keyboard shortcuts", w.show_shortcuts, "F1")
    _add(w, m, "about", "About VIVID Desktop", w.show_about)
