"""The timeline: ruler with timecode, keyframe markers, source thumbnails, the render lane, playhead.

A view only: the editor session tells it what to draw (clip length, playhead, marks, keyframes, plan
windows, rendered previews as they stream in) and it emits intents (seek, zoom, keyframe clicked).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from fractions import Fraction

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
    QWheelEvent,
)
from PySide6.QtWidgets import QHBoxLayout, QScrollBar, QSizePolicy, QVBoxLayout, QWidget

from vivid_desktop.core.timebase import frames_to_timecode, nominal_fps

MARGIN = 68  # left column with the lane names
RULER_H = 24
KEYS_H = 18
THUMB_H = 44
RESULT_H = 44
AUDIO_H = 22
LANE_GAP = 3

PLAYHEAD = QColor(255, 70, 70)
KEY_COLOR = QColor(255, 196, 40)
ANCHOR_COLOR = QColor(90, 200, 255)
RENDER_COLOR = QColor(80, 200, 120)
EDITED_COLOR = QColor(120, 220, 140)
WINDOW_COLORS = (QColor(120, 150, 255, 70), QColor(200, 120, 255, 70))


def _nice_step(min_frames: float, fps: int) -> int:
    """The smallest "round" tick step (frames) of at least ``min_frames``: frames, then seconds, minutes."""
    candidates = [1, 2, 5, 10]
    candidates += [max(1, fps // 2), fps, 2 * fps, 5 * fps, 10 * fps, 15 * fps, 30 * fps]
    candidates += [60 * fps * m for m in (1, 2, 5, 10, 15, 30, 60)]
    for step in sorted(set(candidates)):
        if step >= min_frames:
            return step
    return candidates[-1]


class QtTimeline(QWidget):
    """Draws the clip along time; click or drag to seek, Ctrl+wheel to zoom, wheel to scroll."""

    seekRequested = Signal(int)
    scrubFinished = Signal()
    keyframeClicked = Signal(int)
    viewChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("timeline")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(RULER_H + KEYS_H + THUMB_H + RESULT_H + AUDIO_H + 5 * LANE_GAP + 4)
        self.frame_count = 0
        self.rate = Fraction(24)
        self.playhead = 0
        self.mark_in: int | None = None
        self.mark_out: int | None = None
        self.keyframes: list[int] = []
        self.selected_keyframe: int | None = None
        self.edited_keyframes: set[int] = set()
        self.track: tuple[int, int, bool] | None = None
        self.windows: list[tuple[int, int, str]] = []
        self.plan_range: tuple[int, int] | None = None
        self._thumbs: list[tuple[int, QImage]] = []
        self._thumb_frames: list[int] = []
        self._rendered: dict[int, QImage | None] = {}
        self._rendered_sorted: list[int] = []
        #: the audio's peaks, ``(buckets, 2)`` min/max over the whole clip (None: no audio)
        self.waveform: np.ndarray | None = None
        self._wave_key: tuple | None = None
        self._wave_image = QImage()
        self._ppf = 1.0  # pixels per frame
        self._scroll = 0.0  # first visible frame
        self._fit = True
        self._scrubbing = False

    # ---- content -------------------------------------------------------------------------------
    def set_clip(self, frame_count: int, rate: Fraction) -> None:
        self.frame_count = max(0, int(frame_count))
        self.rate = Fraction(rate)
        self.playhead = 0
        self.mark_in = self.mark_out = None
        self._thumbs, self._thumb_frames = [], []
        self.clear_rendered()
        self.keyframes, self.windows, self.track = [], [], None
        self.waveform = None
        self.zoom_fit()

    def set_waveform(self, peaks: np.ndarray | None) -> None:
        """The source's audio as min/max peaks over the clip (``media.audio.waveform``)."""
        self.waveform = peaks
        self.update()

    def set_playhead(self, frame: int) -> None:
        if frame != self.playhead:
            self.playhead = frame
            self._ensure_visible(frame)
            self.update()

    def set_marks(self, mark_in: int | None, mark_out: int | None) -> None:
        self.mark_in, self.mark_out = mark_in, mark_out
        self.update()

    def set_thumbnails(self, thumbs: list[tuple[int, QImage]]) -> None:
        self._thumbs = sorted(thumbs, key=lambda t: t[0])
        self._thumb_frames = [f for f, _ in self._thumbs]
        self.update()

    def set_keyframes(
        self, frames: list[int], selected: int | None = None, edited: Iterable[int] = ()
    ) -> None:
        """Keyframe markers; ``edited`` ones (with an edited image) are drawn filled in green."""
        self.keyframes = sorted(frames)
        self.edited_keyframes = set(edited)
        self.selected_keyframe = selected
        self.update()

    def set_track(self, track: tuple[int, int, bool] | None) -> None:
        """The tracked-mask range ``(start, stop, stale)`` of the edit, or None."""
        self.track = track
        self.update()

    def set_plan(self, windows: list[tuple], frame_range: tuple[int, int] | None = None) -> None:
        """The render plan's windows ``[(start, stop[, direction]), …]`` (stop exclusive) and its range.

        A ``"backward"`` window (frames before the first keyframe, propagated from it) is labelled ◀.
        """
        self.windows = [(w[0], w[1], w[2] if len(w) > 2 else "forward") for w in windows]
        self.plan_range = frame_range
        self.update()

    def add_rendered(self, frame: int, preview: QImage | None = None) -> None:
        """A rendered frame arrived (``preview``: a small image of it, when there is one)."""
        if frame not in self._rendered:
            bisect.insort(self._rendered_sorted, frame)
        if preview is not None or frame not in self._rendered:
            self._rendered[frame] = preview
        self.update()

    def clear_rendered(self) -> None:
        self._rendered.clear()
        self._rendered_sorted = []
        self.update()

    @property
    def rendered_frames(self) -> list[int]:
        return list(self._rendered_sorted)

    # ---- geometry ------------------------------------------------------------------------------
    @property
    def pixels_per_frame(self) -> float:
        return self._ppf

    def _track_width(self) -> float:
        return max(10.0, self.width() - MARGIN - 8)

    def _fit_ppf(self) -> float:
        return self._track_width() / max(1, self.frame_count)

    def frame_to_x(self, frame: float) -> float:
        return MARGIN + (frame - self._scroll) * self._ppf

    def x_to_frame(self, x: float) -> int:
        f = int((x - MARGIN) / self._ppf + self._scroll)
        return max(0, min(self.frame_count - 1, f))

    def visible_frames(self) -> float:
        return self._track_width() / self._ppf

    def zoom_fit(self) -> None:
        self._fit = True
        self._ppf = self._fit_ppf()
        self._scroll = 0.0
        self.viewChanged.emit()
        self.update()

    def set_zoom(self, ppf: float, anchor_x: float | None = None) -> None:
        """Zoom to ``ppf`` pixels per frame, keeping the frame under ``anchor_x`` in place."""
        ppf = max(self._fit_ppf(), min(60.0, ppf))
        anchor_x = anchor_x if anchor_x is not None else self.frame_to_x(self.playhead)
        frame_at = (anchor_x - MARGIN) / self._ppf + self._scroll
        self._ppf = ppf
        self._fit = ppf <= self._fit_ppf() + 1e-9
        self.set_scroll(frame_at - (anchor_x - MARGIN) / ppf)

    def zoom_by(self, factor: float, anchor_x: float | None = None) -> None:
        self.set_zoom(self._ppf * factor, anchor_x)

    def set_scroll(self, first_frame: float) -> None:
        max_scroll = max(0.0, self.frame_count - self.visible_frames())
        self._scroll = max(0.0, min(max_scroll, first_frame))
        self.viewChanged.emit()
        self.update()

    @property
    def first_visible(self) -> float:
        return self._scroll

    def _ensure_visible(self, frame: int) -> None:
        if self._fit or self._scrubbing:
            return
        if frame < self._scroll or frame >= self._scroll + self.visible_frames() - 1:
            self.set_scroll(frame - self.visible_frames() * 0.1)

    def resizeEvent(self, event) -> None:
        if self._fit:
            self._ppf = self._fit_ppf()
            self._scroll = 0.0
        else:
            self.set_scroll(self._scroll)
        self.viewChanged.emit()
        super().resizeEvent(event)

    # ---- painting ------------------------------------------------------------------------------
    def _lanes(self) -> dict[str, QRectF]:
        w = self._track_width()
        y = 0.0
        lanes = {}
        for name, h in (
            ("ruler", RULER_H),
            ("keys", KEYS_H),
            ("source", THUMB_H),
            ("result", RESULT_H),
            ("audio", AUDIO_H),
        ):
            lanes[name] = QRectF(MARGIN, y, w, h)
            y += h + LANE_GAP
        return lanes

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        pal = self.palette()
        p.fillRect(self.rect(), pal.window().color().darker(115))
        lanes = self._lanes()
        self._paint_lane_names(p, lanes)
        if self.frame_count <= 0:
            p.setPen(pal.mid().color())
            p.drawText(lanes["source"], Qt.AlignmentFlag.AlignCenter, "No clip")
            p.end()
            return
        p.setClipRect(QRectF(MARGIN, 0, self._track_width(), self.height()))
        self._paint_ruler(p, lanes["ruler"])
        self._paint_thumbs(p, lanes["source"], self._thumbs, self._thumb_frames, QColor(50, 50, 56))
        self._paint_result(p, lanes["result"])
        self._paint_keys(p, lanes["keys"])
        self._paint_waveform(p, lanes["audio"])
        self._paint_marks(p)
        self._paint_playhead(p)
        p.end()

    def _paint_waveform(self, p: QPainter, r: QRectF) -> None:
        """The audio lane: a picture of the peaks under each pixel column, made again only when the
        zoom, the scroll or the size changed (the playhead moves every frame; this must stay cheap)."""
        p.fillRect(
            QRectF(self.frame_to_x(0), r.top(), self.frame_count * self._ppf, r.height()), QColor(30, 34, 38)
        )
        peaks = self.waveform
        if peaks is None or len(peaks) == 0 or self.frame_count <= 0:
            return
        key = (id(peaks), self._ppf, self._scroll, int(r.width()), int(r.height()), self.frame_count)
        if self._wave_key != key:
            self._wave_key, self._wave_image = key, self._waveform_image(peaks, r)
        p.drawImage(QPointF(r.left(), r.top()), self._wave_image)

    def _waveform_image(self, peaks: np.ndarray, r: QRectF) -> QImage:
        width, height = max(1, int(r.width())), max(1, int(r.height()))
        image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        xs = np.arange(width + 1, dtype=np.float64) + r.left()
        raw = (((xs - MARGIN) / self._ppf + self._scroll) * (len(peaks) / self.frame_count)).astype(np.int64)
        starts = np.clip(raw[:-1], 0, len(peaks) - 1)
        lo = np.minimum.reduceat(peaks[:, 0], starts)  # over [start, next start), or the one bucket
        hi = np.maximum.reduceat(peaks[:, 1], starts)
        columns = np.flatnonzero((raw[:-1] >= 0) & (raw[:-1] < len(peaks)))
        loudest = float(np.abs(peaks).max())
        # the loudest moment fills the lane: quiet recordings stay readable (a level meter it is not)
        mid, half = height / 2, (height / 2 - 1) * (0.95 / loudest if loudest > 0 else 1.0)
        painter = QPainter(image)
        painter.setPen(QColor(110, 200, 150))
        top, bottom = (mid - hi * half).tolist(), (mid - lo * half).tolist()
        painter.drawLines([QLineF(x, top[x], x, bottom[x]) for x in columns.tolist()])
        painter.end()
        return image

    def _paint_lane_names(self, p: QPainter, lanes: dict[str, QRectF]) -> None:
        p.setPen(self.palette().text().color())
        p.setFont(QFont(self.font().family(), 8))
        names = {"keys": "Keys", "source": "Source", "result": "Result", "audio": "Audio"}
        for key, text in names.items():
            r = lanes[key]
            p.drawText(QRectF(6, r.top(), MARGIN - 10, r.height()), Qt.AlignmentFlag.AlignVCenter, text)

    def _paint_ruler(self, p: QPainter, r: QRectF) -> None:
        fps = nominal_fps(self.rate)
        p.fillRect(r, QColor(36, 36, 40))
        p.setFont(QFont("monospace", 7))
        label_w = p.fontMetrics().horizontalAdvance("00:00:00:00") + 16
        major = _nice_step(label_w / self._ppf, fps)
        minor = max(1, major // 5) if major >= 5 else 1
        first = int(self._scroll) // minor * minor
        last = int(self._scroll + self.visible_frames()) + minor
        p.setPen(QColor(120, 120, 128))
        for f in range(first, min(last, self.frame_count) + 1, minor):
            x = self.frame_to_x(f)
            is_major = f % major == 0
            p.drawLine(QPointF(x, r.bottom() - (10 if is_major else 4)), QPointF(x, r.bottom()))
            if is_major:
                p.setPen(QColor(200, 200, 205))
                p.drawText(QPointF(x + 3, r.top() + 11), frames_to_timecode(f, self.rate))
                p.setPen(QColor(120, 120, 128))

    def _paint_thumbs(self, p, r: QRectF, thumbs, frames: list[int], empty: QColor) -> None:
        p.fillRect(QRectF(self.frame_to_x(0), r.top(), self.frame_count * self._ppf, r.height()), empty)
        if not thumbs:
            return
        image = thumbs[0][1]
        tile_w = max(8.0, r.height() * image.width() / max(1, image.height()))
        span = tile_w / self._ppf  # frames per tile
        x0 = self.frame_to_x(0)
        first_tile = max(0, int((r.left() - x0) / tile_w))
        end_x = min(r.right(), self.frame_to_x(self.frame_count))
        tile = first_tile
        while x0 + tile * tile_w < end_x:
            centre = (tile + 0.5) * span
            i = min(
                range(
                    max(0, bisect.bisect_left(frames, centre) - 1),
                    min(len(frames), bisect.bisect_left(frames, centre) + 1),
                ),
                key=lambda k: abs(frames[k] - centre),
            )
            x = x0 + tile * tile_w
            target = QRectF(x, r.top(), min(tile_w, end_x - x), r.height())
            source = QRectF(0, 0, image.width() * target.width() / tile_w, image.height())
            p.drawImage(target, thumbs[i][1], source)
            tile += 1

    def _paint_result(self, p: QPainter, r: QRectF) -> None:
        p.fillRect(
            QRectF(self.frame_to_x(0), r.top(), self.frame_count * self._ppf, r.height()), QColor(40, 40, 44)
        )
        for i, (a, b, _d) in enumerate(self.windows):
            box = QRectF(self.frame_to_x(a), r.top(), (b - a) * self._ppf, r.height())
            p.fillRect(box, WINDOW_COLORS[i % 2])
        self._paint_rendered(p, r)
        for i, (a, b, direction) in enumerate(self.windows):
            box = QRectF(self.frame_to_x(a), r.top() + 1, (b - a) * self._ppf - 1, r.height() - 2)
            p.setPen(QPen(WINDOW_COLORS[i % 2].lighter(170), 1))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(box)
            p.setFont(QFont(self.font().family(), 7))
            if box.width() > 24 and len(self.windows) > 1:  # one window is just the range: no label
                label = f"◀W{i + 1}" if direction == "backward" else f"W{i + 1}"
                p.drawText(box.adjusted(3, 1, 0, 0), Qt.AlignmentFlag.AlignTop, label)

    def _paint_rendered(self, p: QPainter, r: QRectF) -> None:
        if not self._rendered_sorted:
            return
        with_preview = [f for f in self._rendered_sorted if self._rendered[f] is not None]
        runs = self._runs(self._rendered_sorted)
        if with_preview:
            # Tiles like the source strip; a tile shows the preview nearest its centre when the centre
            # frame is rendered, clipped to the rendered runs so unrendered frames stay empty.
            image = self._rendered[with_preview[0]]
            assert image is not None
            body = QRectF(r.left(), r.top() + 5, r.width(), r.height() - 5)
            tile_w = max(8.0, body.height() * image.width() / max(1, image.height()))
            x0 = self.frame_to_x(0)
            first = max(0, int((r.left() - x0) / tile_w))
            end_x = min(r.right(), self.frame_to_x(self.frame_count))
            p.save()
            clip = QPainterPath()
            for a, b in runs:
                clip.addRect(QRectF(self.frame_to_x(a), body.top(), (b - a + 1) * self._ppf, body.height()))
            p.setClipPath(clip, Qt.ClipOperation.IntersectClip)
            tile = first
            while x0 + tile * tile_w < end_x:
                lo, hi = (tile * tile_w) / self._ppf, ((tile + 1) * tile_w) / self._ppf
                i = bisect.bisect_left(with_preview, lo)
                candidates = with_preview[max(0, i - 1) : i + 2]
                centre = (lo + hi) / 2
                best = min(candidates, key=lambda f: abs(f - centre), default=None)
                image = None if best is None else self._rendered[best]
                if image is not None:
                    p.drawImage(QRectF(x0 + tile * tile_w, body.top(), tile_w, body.height()), image)
                tile += 1
            p.restore()
        # A green bar over every rendered frame, merged into runs.
        for a, b in runs:
            p.fillRect(
                QRectF(self.frame_to_x(a), r.top(), max(1.0, (b - a + 1) * self._ppf), 4), RENDER_COLOR
            )

    @staticmethod
    def _runs(frames: list[int]) -> list[tuple[int, int]]:
        runs: list[tuple[int, int]] = []
        for f in frames:
            if runs and f == runs[-1][1] + 1:
                runs[-1] = (runs[-1][0], f)
            else:
                runs.append((f, f))
        return runs

    def _paint_keys(self, p: QPainter, r: QRectF) -> None:
        p.fillRect(
            QRectF(self.frame_to_x(0), r.top(), self.frame_count * self._ppf, r.height()), QColor(34, 34, 38)
        )
        cy = r.center().y()
        if self.track is not None:
            start, stop, stale = self.track
            pen = QPen(QColor(240, 150, 60) if stale else ANCHOR_COLOR, 3)
            pen.setStyle(Qt.PenStyle.DashLine if stale else Qt.PenStyle.SolidLine)
            p.setPen(pen)
            p.drawLine(QPointF(self.frame_to_x(start), cy), QPointF(self.frame_to_x(stop), cy))
        for f in self.keyframes:
            x = self.frame_to_x(f + 0.5)
            s = 6.0
            diamond = QPolygonF(
                [QPointF(x, cy - s), QPointF(x + s, cy), QPointF(x, cy + s), QPointF(x - s, cy)]
            )
            selected = f == self.selected_keyframe
            p.setPen(QPen(QColor(255, 255, 255) if selected else KEY_COLOR.darker(160), 1.5))
            fill = EDITED_COLOR if f in self.edited_keyframes else KEY_COLOR
            p.setBrush(fill.lighter(120) if selected else fill)
            p.drawPolygon(diamond)

    def _paint_marks(self, p: QPainter) -> None:
        top, bottom = 0.0, float(self.height())
        shade = QColor(0, 0, 0, 110)
        if self.mark_in is not None:
            x = self.frame_to_x(self.mark_in)
            p.fillRect(QRectF(self.frame_to_x(0), top, x - self.frame_to_x(0), bottom), shade)
            self._bracket(p, x, +1)
        if self.mark_out is not None:
            x = self.frame_to_x(self.mark_out + 1)
            p.fillRect(QRectF(x, top, self.frame_to_x(self.frame_count) - x, bottom), shade)
            self._bracket(p, x, -1)

    def _bracket(self, p: QPainter, x: float, direction: int) -> None:
        p.setPen(QPen(QColor(255, 220, 90), 2))
        p.drawLine(QPointF(x, 0), QPointF(x, RULER_H))
        p.drawLine(QPointF(x, 1), QPointF(x + 6 * direction, 1))
        p.drawLine(QPointF(x, RULER_H - 1), QPointF(x + 6 * direction, RULER_H - 1))

    def _paint_playhead(self, p: QPainter) -> None:
        x = self.frame_to_x(self.playhead + 0.5 if self._ppf > 4 else self.playhead)
        p.setPen(QPen(PLAYHEAD, 1.5))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        head = QPolygonF([QPointF(x - 6, 0), QPointF(x + 6, 0), QPointF(x, 9)])
        p.setBrush(PLAYHEAD)
        p.drawPolygon(head)

    # ---- input ---------------------------------------------------------------------------------
    def _keyframe_at(self, pos: QPointF) -> int | None:
        if not self._lanes()["keys"].adjusted(0, -2, 0, 2).contains(pos):
            return None
        best = min(self.keyframes, key=lambda f: abs(self.frame_to_x(f + 0.5) - pos.x()), default=None)
        if best is not None and abs(self.frame_to_x(best + 0.5) - pos.x()) <= 7:
            return best
        return None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if (
            self.frame_count <= 0
            or event.button() != Qt.MouseButton.LeftButton
            or event.position().x() < MARGIN
        ):
            return
        key = self._keyframe_at(event.position())
        if key is not None:
            self.keyframeClicked.emit(key)
            self.seekRequested.emit(key)
            return
        self._scrubbing = True
        self.seekRequested.emit(self.x_to_frame(event.position().x()))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._scrubbing:
            self.seekRequested.emit(self.x_to_frame(event.position().x()))
        else:
            key = self._keyframe_at(event.position())
            self.setToolTip(f"Keyframe {key}" if key is not None else "")

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._scrubbing:
            self._scrubbing = False
            self.scrubFinished.emit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0 or event.angleDelta().x() / 120.0
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(1.25**steps, event.position().x())
        else:
            self.set_scroll(self._scroll - steps * self.visible_frames() / 10)
        event.accept()


class QtTimelinePanel(QWidget):
    """The timeline with its horizontal scroll bar."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.timeline = QtTimeline(self)
        self.scrollbar = QScrollBar(Qt.Orientation.Horizontal, self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.timeline)
        row = QHBoxLayout()
        row.setContentsMargins(MARGIN, 0, 8, 0)
        row.addWidget(self.scrollbar)
        layout.addLayout(row)
        self.timeline.viewChanged.connect(self._sync_scrollbar)
        self.scrollbar.valueChanged.connect(lambda v: self.timeline.set_scroll(float(v)))

    def _sync_scrollbar(self) -> None:
        t = self.timeline
        visible = int(t.visible_frames())
        self.scrollbar.blockSignals(True)
        self.scrollbar.setRange(0, max(0, t.frame_count - visible))
        self.scrollbar.setPageStep(max(1, visible))
        self.scrollbar.setValue(int(t.first_visible))
        self.scrollbar.setVisible(t.frame_count > visible)
        self.scrollbar.blockSignals(False)
