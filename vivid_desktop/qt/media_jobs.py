"""Background media work for an open project: thumbnails, the scrubbing proxy, rendered previews.

Runs in the window's worker pool and streams results back (``on_yield``): first a quick thumbnail strip
from the source's keyframes, then (when proxies are on) the proxy build with progress in the status bar,
then a detailed strip from the proxy. Everything stops when the returned event is set.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PySide6.QtGui import QImage

from vivid_desktop.core.files import read_png
from vivid_desktop.core.store import ProjectStore
from vivid_desktop.media.audio import PCM, decode_audio, waveform
from vivid_desktop.media.errors import MediaCancelled, MediaError
from vivid_desktop.media.index import FrameIndex
from vivid_desktop.media.probe import probe
from vivid_desktop.media.proxy import build_proxy, proxy_is_current
from vivid_desktop.media.thumbnails import thumbnail_frames, thumbnail_strip
from vivid_desktop.qt.images import qimage_from_rgb

if TYPE_CHECKING:
    from vivid_desktop.qt.main_window import MainWindow

log = logging.getLogger(__name__)

THUMB_LINES = 48
MAX_THUMBS = 120
WAVE_BUCKETS = 4000


def _strip(source: str, index: FrameIndex, count: int, proxy: Path | None) -> list[tuple[int, QImage]]:
    frames = thumbnail_frames(index.frame_count, count)
    images = thumbnail_strip(source, count, THUMB_LINES, proxy=proxy, index=index)
    return [(f, qimage_from_rgb(im)) for f, im in zip(frames, images, strict=False)]


def media_work(
    source: str,
    index_dir: Path,
    proxy_path: Path,
    proxy_lines: int,
    want_proxy: bool,
    cancel: threading.Event,
    report,
) -> Iterator[tuple]:
    """Worker generator: yields ``("thumbs", [(frame, QImage)])``, ``("audio", (PCM, peaks) | None)``
    and ``("proxy", path)``."""
    index = FrameIndex.open(source, folder=index_dir)
    count = min(MAX_THUMBS, index.frame_count)
    have_proxy = want_proxy and proxy_path.is_file() and proxy_is_current(source, proxy_path)
    yield ("thumbs", _strip(source, index, count, proxy_path if have_proxy else None))
    yield ("audio", _audio(source, cancel))
    if not want_proxy or cancel.is_set():
        return
    if not have_proxy:
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] > 0.1 or done >= total:
                last[0] = now
                report(done / max(1, total))

        try:
            build_proxy(
                source,
                proxy_path,
                max_lines=proxy_lines,
                progress=progress,
                cancel=cancel.is_set,
                index=index,
            )
        except MediaCancelled:
            return
        report(None)
        yield ("thumbs", _strip(source, index, count, proxy_path))
    yield ("proxy", proxy_path)


def _audio(source: str, cancel: threading.Event) -> tuple[PCM, np.ndarray] | None:
    """The source's audio for playback and its waveform (None: no audio, or it cannot be read)."""
    with contextlib.suppress(ImportError):  # load QtMultimedia here, off the UI thread (~0.15 s)
        import PySide6.QtMultimedia  # noqa: F401
    try:
        info = probe(source)
        pcm = decode_audio(source, info.start_time, cancel.is_set) if info.has_audio else None
    except (MediaError, MediaCancelled) as exc:
        log.info("no audio for playback: %s", exc)
        return None
    return None if pcm is None else (pcm, waveform(pcm, WAVE_BUCKETS))


def start_media_jobs(window: MainWindow, store: ProjectStore) -> threading.Event:
    """Start thumbnails and the proxy for ``store``; returns the event that stops them."""
    cancel = threading.Event()
    settings = window.settings
    src = store.project.source
    want_proxy = bool(settings.get("proxy/enabled")) and store.project.settings.proxy
    lines = int(settings.get("proxy/lines"))
    proxy_path = store.cache_dir("proxy") / f"proxy-{lines}.mp4"

    def report(fraction: float | None) -> None:  # worker thread
        window.relay.post(_show_progress, window, fraction)

    def on_yield(item: tuple) -> None:
        if cancel.is_set() or window.session.store is not store:
            return
        kind, value = item
        if kind == "thumbs":
            window.timeline.set_thumbnails(value)
        elif kind == "proxy":
            window.session.frames.set_proxy(value)
        elif kind == "audio":
            window.audio.set_audio(value[0] if value else None, src.rate)
            window.timeline.set_waveform(value[1] if value else None)

    def on_error(exc: BaseException) -> None:
        _show_progress(window, None)
        if not cancel.is_set():
            message = str(exc) if isinstance(exc, MediaError | OSError) else f"{type(exc).__name__}: {exc}"
            window.statusBar().showMessage(f"Background media job failed: {message}", 8000)

    window.pool.run(
        media_work,
        src.path,
        store.cache_dir("index"),
        proxy_path,
        lines,
        want_proxy,
        cancel,
        report,
        on_yield=on_yield,
        on_error=on_error,
        on_finally=lambda: _show_progress(window, None),
        cancel=cancel,
        name="media",
    )
    return cancel


def _show_progress(window: MainWindow, fraction: float | None) -> None:
    busy = fraction is not None
    window.bg_progress.setVisible(busy)
    window.bg_label.setText("Building the scrubbing proxy" if busy else "")
    if fraction is not None:
        window.bg_progress.setValue(int(fraction * 1000))


def rendered_previews(
    store: ProjectStore, render_ids: list[str], frames: list[int], count: int = 60, lines: int = 45
) -> Iterator[list[tuple[int, QImage]]]:
    """Small previews of up to ``count`` rendered frames spread over ``frames`` (worker thread)."""
    if not frames:
        return
    step = max(1, len(frames) // count)
    batch: list[tuple[int, QImage]] = []
    for f in frames[::step]:
        path = store.final_frame_path(f)
        if path is None:
            continue
        try:
            image = read_png(path, grey=False)
        except OSError:
            continue
        h, w = image.shape[:2]
        small = cv2.resize(image, (max(1, round(w * lines / h)), lines), interpolation=cv2.INTER_AREA)
        batch.append((f, qimage_from_rgb(np.ascontiguousarray(small))))
        if len(batch) >= 10:
            yield batch
            batch = []
    if batch:
        yield batch
