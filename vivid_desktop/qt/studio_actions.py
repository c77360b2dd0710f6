"""Studio actions of the editor: File → Export timeline… and Render → Render on cluster….

Both are thin: the timeline export is ``media.export_timeline`` in a worker thread (progress in the status
bar), the cluster render is the ordinary propagation with the plan's ``cluster`` set (docs/studio.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit

from vivid_desktop.media.errors import MediaError

if TYPE_CHECKING:
    from vivid_desktop.qt.main_window import MainWindow

TIMELINE_FILTERS = "OpenTimelineIO (*.otio);;Final Cut Pro 7 / Premiere XML (*.xml);;CMX 3600 EDL (*.edl)"
_SUFFIX_OF_FILTER = {"OpenTimelineIO (*.otio)": ".otio", "Final Cut Pro 7 / Premiere XML (*.xml)": ".xml"}


def export_timeline(w: MainWindow) -> QFileDialog | None:
    """Ask where to write the timeline, then write it (and its media folder) in a worker thread."""
    store = w.session.store
    if store is None:
        w.statusBar().showMessage("Open a clip or project first.", 5000)
        return None
    folder = w.settings.get("export/last_folder") or str(store.folder.parent)
    dialog = QFileDialog(w, "Export timeline for an NLE", str(Path(folder) / f"{store.folder.stem}.otio"))
    dialog.setObjectName("timelineDialog")
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog)
    dialog.setNameFilter(TIMELINE_FILTERS)

    def chosen(path: str) -> None:
        out = Path(path)
        if not out.suffix:
            out = out.with_suffix(_SUFFIX_OF_FILTER.get(dialog.selectedNameFilter(), ".edl"))
        w.settings.set("export/last_folder", str(out.parent))
        write_timeline(w, out)

    dialog.fileSelected.connect(chosen)
    dialog.open()
    return dialog


def write_timeline(w: MainWindow, out: Path) -> None:
    """Write the timeline of the project's in/out range to ``out`` (worker thread; the status bar reports)."""
    from vivid_desktop.media.export_timeline import export_timeline as write

    store = w.session.store
    assert store is not None
    bar = w.statusBar()

    def progress(done: int, total: int | None) -> None:
        w.session.relay.post(bar.showMessage, f"Exporting the timeline: {done}/{total} frames")

    def failed(exc: BaseException) -> None:
        if isinstance(exc, MediaError | OSError):
            w.show_error("Timeline export failed", str(exc))
        else:
            raise exc

    def written(path: Path) -> None:
        bar.showMessage(f"Timeline written: {path} (media in {path.stem}.media)")

    bar.showMessage(f"Exporting the timeline to {out.name} …")
    w.session.pool.run(
        lambda: write(store, out, progress=progress),
        on_result=written,
        on_error=failed,
        name="export-timeline",
    )  # fmt: skip


def propagate_on_cluster(w: MainWindow) -> QInputDialog:
    """Ask for the Ray cluster's address (remembered), then propagate there."""
    dialog = QInputDialog(w)
    dialog.setObjectName("clusterDialog")
    dialog.setWindowTitle("Render on cluster")
    dialog.setLabelText(
        "Ray cluster address: 'local' starts one on this machine; or ray://HEAD:10001, HEAD:6379, auto.\n"
        "The model folder must exist at the same path on the GPU workers (docs/studio.md)."
    )
    dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
    dialog.setTextValue(w.settings.get("render/cluster") or "local")

    def accepted() -> None:
        address = dialog.textValue().strip()
        if not address:
            return
        w.settings.set("render/cluster", address)
        w.propagate.propagate(track_first=w.propagate_panel.track_first.isChecked(), cluster=address)

    dialog.accepted.connect(accepted)
    dialog.open()
    return dialog
