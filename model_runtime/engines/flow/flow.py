"""Dense optical flow between neighbouring frames: computed once per clip, cached, completed in holes.

Conventions used by the whole flow engine:

- ``forward(i)`` is the flow from frame ``i`` to frame ``i + 1``: at pixel ``x`` of frame ``i`` it gives the
  displacement ``d`` such that ``x + d`` is the same point in frame ``i + 1``.
- ``backward(i)`` is the flow from frame ``i + 1`` to frame ``i`` (defined at pixels of frame ``i + 1``).
- Flows are computed with OpenCV's DIS at a reduced *working* resolution (long side ≤ ``max_side``) and
  upsampled on use; at these sizes DIS is a few milliseconds per pair and the quality loss is small.
- The cache (:mod:`model_runtime.engines.flow.cache`) holds one file per pair in a folder keyed by the
  source's path, size and modification time plus the working size and DIS preset, so any range of the
  same clip reuses it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from model_runtime.cvtyped import dense_flow
from model_runtime.engines.flow.cache import FlowCache, dequantize, quantize
from model_runtime.engines.flow.masks import grow as grow_region
from vivid_desktop.media.clip_frames import FrameSource

_PRESETS = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
    # medium down to the working resolution itself (medium stops one pyramid level above it): ~4× the
    # time, and the motion of small or thin things (a limb, a wheel's rim) is found; mask tracking uses it
    "fine": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}


def _dis(preset: str) -> cv2.DISOpticalFlow:
    dis = cv2.DISOpticalFlow.create(_PRESETS[preset])
    if preset == "fine":
        dis.setFinestScale(0)
    return dis


@dataclass(frozen=True)
class FlowSettings:
    """How flow is computed. ``max_side``: long side of the working resolution (0 = full size)."""

    preset: str = "medium"
    max_side: int = 480

    @classmethod
    def from_settings(cls, settings: dict[str, object]) -> FlowSettings:
        preset = str(settings.get("flow_preset", cls.preset))
        if preset not in _PRESETS:
            raise ValueError(f"unknown flow preset {preset!r} (choose {', '.join(_PRESETS)})")
        max_side = int(settings.get("flow_max_side", cls.max_side))  # type: ignore[call-overload]
        return cls(preset, max(0, max_side))

    def cache_parts(self, width: int, height: int) -> str:
        """What the cached flows of a ``width`` × ``height`` clip depend on, besides the file itself."""
        w, h = self.working_size(width, height)
        return f"{width}x{height}|{w}x{h}|DIS-{self.preset}"

    def working_size(self, width: int, height: int) -> tuple[int, int]:
        """(w, h) at which flow is computed for a ``width`` × ``height`` clip."""
        side = max(width, height)
        if self.max_side <= 0 or side <= self.max_side:
            return width, height
        scale = self.max_side / side
        return max(8, round(width * scale)), max(8, round(height * scale))


def _gray(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    small = (
        frame
        if (frame.shape[1], frame.shape[0]) == size
        else cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    )
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)


class ClipFlow:
    """The flows of one clip at working resolution, computed on demand.

    ``frames`` provides the pictures (read only when a pair is in neither memory nor the cache). With a
    disk cache, at most ``max_pairs`` pairs stay in memory (least recently used go first). ``workers``
    > 1: :meth:`ensure` computes that many pairs at once on threads (DIS and zlib release the GIL) while
    the caller's thread decodes the next frames; the flows are the same as with one.
    """

    def __init__(
        self,
        frames: FrameSource,
        settings: FlowSettings | None = None,
        cache: FlowCache | None = None,
        max_pairs: int = 128,
        workers: int = 1,
    ) -> None:
        self.frames = frames
        self.settings = settings or FlowSettings()
        self.cache = cache
        self.max_pairs = max_pairs
        self.workers = max(1, workers)
        self.width, self.height = frames.size
        self.work_size = self.settings.working_size(self.width, self.height)
        self._dis = _dis(self.settings.preset)
        self._local = threading.local()  # one DIS per worker thread: an instance is not shareable
        self._lock = threading.RLock()  # the fill's two passes read pairs from two threads
        self._pairs: OrderedDict[int, tuple[np.ndarray, np.ndarray]] = OrderedDict()

    @property
    def scale(self) -> tuple[float, float]:
        """(sx, sy): full-resolution pixels per working pixel."""
        return self.width / self.work_size[0], self.height / self.work_size[1]

    def missing(self, lo: int, hi: int) -> list[int]:
        """Pairs ``i`` (flow between ``i`` and ``i + 1``) in ``[lo, hi - 1)`` in neither memory nor cache."""
        return [
            i for i in range(lo, hi - 1) if i not in self._pairs and not (self.cache and self.cache.has(i))
        ]

    def ensure(
        self,
        lo: int,
        hi: int,
        on_pair: Callable[[int], None] | None = None,
        frames: Sequence[np.ndarray] | np.ndarray | None = None,
    ) -> None:
        """Compute the missing flows of frames ``[lo, hi)``, reading each needed frame once, in order.

        ``frames``: the pictures of ``[lo, hi)`` when the caller holds them already (no second decode).
        """
        todo = set(self.missing(lo, hi))
        if not todo:
            return
        first, stop = min(todo), max(todo) + 2
        if frames is not None:
            pictures: Iterable[tuple[int, np.ndarray]] = ((n, frames[n - lo]) for n in range(first, stop))
        else:
            pictures = self.frames.iter_frames(first, stop)
        self._compute_all(pictures, todo, on_pair)

    def read_with_flows(self, lo: int, hi: int, on_pair: Callable[[int], None] | None = None) -> np.ndarray:
        """Frames ``[lo, hi)`` stacked (N, H, W, 3), their missing flows computed while they decode."""
        kept: list[np.ndarray] = []

        def reading() -> Iterable[tuple[int, np.ndarray]]:
            for n, frame in self.frames.iter_frames(lo, hi):
                kept.append(frame)
                yield n, frame

        self._compute_all(reading(), set(self.missing(lo, hi)), on_pair)
        return np.stack(kept)

    def _compute_all(
        self,
        pictures: Iterable[tuple[int, np.ndarray]],
        todo: set[int],
        on_pair: Callable[[int], None] | None,
    ) -> None:
        """The pairs ``todo`` from consecutive ``pictures``; ``on_pair`` in order on this thread."""
        pool = ThreadPoolExecutor(self.workers, "flow-dis") if self.workers > 1 and todo else None
        pending: deque[tuple[int, Future[tuple[np.ndarray, np.ndarray, bool]]]] = deque()
        try:
            prev_gray, prev_n = None, -2
            for n, frame in pictures:
                if n not in todo and n - 1 not in todo:
                    continue  # read through (the caller keeps it), no flow needs it
                gray = _gray(frame, self.work_size)
                if prev_gray is not None and prev_n == n - 1 and (n - 1) in todo:
                    if pool is None:
                        self._compute(n - 1, prev_gray, gray)
                        if on_pair:
                            on_pair(n - 1)
                    else:
                        pending.append((n - 1, pool.submit(self._flows, n - 1, prev_gray, gray)))
                        while len(pending) > 2 * self.workers:
                            self._collect(*pending.popleft(), on_pair)
                prev_gray, prev_n = gray, n
            while pending:
                self._collect(*pending.popleft(), on_pair)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _flows(self, i: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
        """(forward, backward, saved) of pair ``i`` on a worker thread, with that thread's DIS."""
        dis = getattr(self._local, "dis", None)
        if dis is None:
            dis = self._local.dis = _dis(self.settings.preset)
        fwd, bwd = quantize(dense_flow(dis, a, b)), quantize(dense_flow(dis, b, a))
        cache = self.cache
        try:
            if cache:
                cache.save(i, fwd, bwd)
        except OSError:
            return fwd, bwd, False
        return fwd, bwd, True

    def _collect(
        self,
        i: int,
        future: Future[tuple[np.ndarray, np.ndarray, bool]],
        on_pair: Callable[[int], None] | None,
    ) -> None:
        fwd, bwd, saved = future.result()
        if not saved:  # a read-only or full disk: go on without the cache, it only saves time
            self.cache = None
        with self._lock:
            self._keep(i, (fwd, bwd))
        if on_pair:
            on_pair(i)

    def _compute(self, i: int, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        fwd, bwd = dense_flow(self._dis, a, b), dense_flow(self._dis, b, a)
        pair = (quantize(fwd), quantize(bwd))
        if self.cache:
            try:
                self.cache.save(i, *pair)
            except OSError:  # a read-only or full disk: go on without the cache, it only saves time
                self.cache = None
        self._keep(i, pair)
        return pair

    def _keep(self, i: int, pair: tuple[np.ndarray, np.ndarray]) -> None:
        self._pairs[i] = pair
        self._pairs.move_to_end(i)
        while self.cache and len(self._pairs) > self.max_pairs:
            self._pairs.popitem(last=False)

    def _pair(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if i in self._pairs:
                self._pairs.move_to_end(i)
                return self._pairs[i]
            shape = (self.work_size[1], self.work_size[0])
            pair = self.cache.load(i, shape) if self.cache else None
            if pair is not None:
                self._keep(i, pair)
                return pair
            a, b = (_gray(self.frames.read(n), self.work_size) for n in (i, i + 1))
            return self._compute(i, a, b)

    def fixed(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(forward, backward) of pair ``i`` as kept: int16 fixed point (see :func:`dequantize`)."""
        return self._pair(i)

    def forward(self, i: int) -> np.ndarray:
        """Flow ``i → i+1`` at working resolution, in *working* pixels (float32)."""
        return dequantize(self._pair(i)[0])

    def backward(self, i: int) -> np.ndarray:
        """Flow ``i+1 → i`` at working resolution, in *working* pixels (float32)."""
        return dequantize(self._pair(i)[1])

    def to_full(self, flow: np.ndarray) -> np.ndarray:
        """Upsample a working-resolution flow to full resolution, in full-resolution pixels."""
        if self.work_size == (self.width, self.height):
            return flow
        sx, sy = self.scale
        up: np.ndarray = cv2.resize(flow, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        up[..., 0] *= sx
        up[..., 1] *= sy
        return up

    def hole_to_work(self, region: np.ndarray, grow: int) -> np.ndarray:
        """A full-resolution boolean region as a working-resolution hole grown by ``grow`` pixels."""
        small: np.ndarray = region.astype(np.uint8)
        if self.work_size != (self.width, self.height):
            small = cv2.resize(small * 255, self.work_size, interpolation=cv2.INTER_AREA)
        return grow_region(small > 0, grow)
