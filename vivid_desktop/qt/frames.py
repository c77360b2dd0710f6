"""Frames for the viewer, decoded off the UI thread: the proxy while scrubbing, the exact frame at rest.

One decode thread serves the newest request only (``LatestWorker``), so a fast scrub never builds a
queue. A request returns a ``DisplayFrame``: the source picture (proxy or exact), the result picture of
the same frame when rendered layers exist (composed over the exact source frame with
``core.render_plan.compose_layers`` where two or more meet), and whether it is exact. When the playhead
rests for ``REST_MS`` the exact original frame replaces the proxy one (DESIGN.md §3).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QImage

from vivid_desktop.core.files import read_png
from vivid_desktop.core.project import ProjectError
from vivid_desktop.core.render_plan import compose_layers
from vivid_desktop.media.index import FrameIndex
from vivid_desktop.media.reader import FrameReader
from vivid_desktop.qt.images import qimage_from_rgb
from vivid_desktop.qt.workers import LatestWorker, MainThreadRelay

log = logging.getLogger(__name__)

#: how long the playhead must rest before the exact frame replaces the proxy frame
REST_MS = 120


@dataclass
class DisplayFrame:
    """What the viewer shows at one frame. QImages are built in the worker (allowed for QImage)."""

    frame: int
    source: QImage
    result: QImage | None
    exact: bool
    result_path: Path | None = None


class FrameService(QObject):
    """Serves ``DisplayFrame`` s for the playhead; see the module docstring."""

    frameLoaded = Signal(object)  # DisplayFrame
    readerOpened = Signal()
    failed = Signal(str)

    def __init__(self, relay: MainThreadRelay, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._relay = relay
        self._worker = LatestWorker(relay, name="vivid-decode")
        self._reader: FrameReader | None = None
        self._proxy: FrameReader | None = None
        self._result_layers: Callable[[int], list[Path]] = lambda n: []
        self._wanted = -1
        self._generation = 0
        self._shown_exact: tuple[int, bool] = (-1, False)
        self._rest = QTimer(self)
        self._rest.setSingleShot(True)
        self._rest.setInterval(REST_MS)
        self._rest.timeout.connect(self._load_exact)
        self.frame_count = 0

    # ---- readers --------------------------------------------------------------------------------
    def open(self, source: str | Path, index_folder: str | Path | None, cache_bytes: int = 512 << 20) -> None:
        """Open the source clip in the decode thread (building its frame index when needed)."""
        self.close_readers()
        self._generation += 1
        generation = self._generation

        def work() -> tuple[int, FrameReader]:
            index = FrameIndex.open(source, folder=index_folder)
            return generation, FrameReader(source, index=index, cache_bytes=cache_bytes)

        self._worker.submit(work, self._on_opened, lambda exc: self.failed.emit(str(exc)))

    def _on_opened(self, opened: tuple[int, FrameReader]) -> None:
        generation, reader = opened
        if generation != self._generation:  # another clip was opened meanwhile
            self._worker.submit(reader.close)
            return
        self._reader = reader
        self.frame_count = reader.frame_count
        self.readerOpened.emit()
        if self._wanted >= 0:
            self.request(self._wanted, scrubbing=False)

    def set_proxy(self, proxy_path: str | Path | None) -> None:
        """Use a proxy (all-intra, small) for scrubbing and playback; None stops using it."""
        old, self._proxy = self._proxy, None
        if old is not None:
            self._worker.submit(old.close)
        if proxy_path is None:
            return

        generation = self._generation

        def work() -> tuple[int, FrameReader]:
            return generation, FrameReader(proxy_path, cache_bytes=192 << 20, thread_type="SLICE")

        self._worker.submit(work, self._on_proxy)

    def _on_proxy(self, opened: tuple[int, FrameReader]) -> None:
        generation, reader = opened
        if generation != self._generation:  # the clip changed meanwhile
            self._worker.submit(reader.close)
            return
        if reader.frame_count != self.frame_count and self.frame_count:
            log.warning("proxy has %d frames, clip %d: not used", reader.frame_count, self.frame_count)
            self._worker.submit(reader.close)
            return
        self._proxy = reader

    @property
    def has_proxy(self) -> bool:
        return self._proxy is not None

    @property
    def reader(self) -> FrameReader | None:
        return self._reader

    def set_result_lookup(self, lookup: Callable[[int], list[Path]]) -> None:
        """How to find the picture files composed as the result at a frame, bottom layer first
        (``ProjectStore.final_layers``; empty = no result). Called on the decode thread."""
        self._result_layers = lookup

    # ---- requests -------------------------------------------------------------------------------
    def request(self, frame: int, scrubbing: bool = False) -> None:
        """Show ``frame``: from the proxy when ``scrubbing`` and one exists, then exactly at rest."""
        self._wanted = frame
        if self._reader is None:
            return
        use_proxy = scrubbing and self._proxy is not None and not self._reader.is_cached(frame)
        generation = self._generation
        self._worker.request(
            lambda: self._load(frame, exact=not use_proxy), lambda shown: self._deliver(shown, generation)
        )
        if use_proxy:
            self._rest.start()
        else:
            self._rest.stop()

    def refresh(self) -> None:
        """Reload the current frame (a render or mask arrived)."""
        if self._wanted >= 0:
            self.request(self._wanted, scrubbing=False)

    def _load_exact(self) -> None:
        if self._reader is not None and self._wanted >= 0 and self._shown_exact != (self._wanted, True):
            frame, generation = self._wanted, self._generation
            self._worker.request(
                lambda: self._load(frame, exact=True), lambda shown: self._deliver(shown, generation)
            )

    def _load(self, frame: int, exact: bool) -> DisplayFrame:
        exact_reader = self._reader
        reader = exact_reader if exact or self._proxy is None else self._proxy
        assert reader is not None and exact_reader is not None
        pixels = np.asarray(reader.read(frame))
        source = qimage_from_rgb(pixels)
        layers = self._result_layers(frame)
        result = None
        if layers:
            try:
                rendered = [read_png(path, grey=False) for path in layers]
                if len(rendered) > 1:
                    # the renders were made from the exact frame, never from the proxy one
                    base = pixels if reader is exact_reader else np.asarray(exact_reader.read(frame))
                    rendered = [compose_layers(base, rendered)]
                result = qimage_from_rgb(rendered[0])
            except (OSError, ProjectError) as exc:
                log.warning("cannot show the result at frame %d (%s): %s", frame, layers[-1], exc)
        return DisplayFrame(frame, source, result, exact, layers[-1] if layers else None)

    def _deliver(self, shown: DisplayFrame, generation: int) -> None:
        if generation != self._generation:  # decoded from a clip that has been closed since
            return
        self._shown_exact = (shown.frame, shown.exact)
        self.frameLoaded.emit(shown)

    # ---- lifetime -------------------------------------------------------------------------------
    def close_readers(self) -> None:
        self._generation += 1
        readers = [r for r in (self._reader, self._proxy) if r is not None]
        self._reader = self._proxy = None
        self._wanted = -1
        self.frame_count = 0
        # A pending decode would run after the close below (submitted work goes first) on a closed reader.
        self._worker.cancel_pending()
        for r in readers:
            self._worker.submit(r.close)

    def shutdown(self) -> None:
        self._rest.stop()
        readers = [r for r in (self._reader, self._proxy) if r is not None]
        self._reader = self._proxy = None
        self._worker.shutdown()
        for r in readers:
            r.close()
