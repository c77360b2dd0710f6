"""A positioned video decoder: seek to a keyframe, decode forward to an exact timestamp, convert to RGB.

Internal to the reader, proxy builder and thumbnails. It knows which source frame it last produced
(``position``), so a caller can decode forward instead of seeking when the target lies ahead in the same
GOP. On the way to a target it asks FFmpeg to skip non-reference frames that come well before the target
(nothing depends on them), which roughly halves the cost of landing deep inside a long GOP. The last few
frames decoded are kept (``recent``), so stepping back a frame or two after a seek costs no decoding.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from pathlib import Path

import av
import cv2
import numpy as np

from vivid_desktop.media.errors import MediaError, open_container
from vivid_desktop.media.index import FrameIndex
from vivid_desktop.media.scan import video_stream

#: Decoded frames kept (as FFmpeg frames, ~3 MB each at 1080p) for stepping back without a new decode,
#: at most this many and at most ``KEEP_RECENT_BYTES`` of them.
KEEP_RECENT = 8
KEEP_RECENT_BYTES = 64 * 2**20

_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def to_rgb(frame: av.VideoFrame, rotation: int = 0, size: tuple[int, int] | None = None) -> np.ndarray:
    """A decoded frame as uint8 RGB (H, W, 3), optionally scaled to ``size`` (coded ``(w, h)``), turned
    ``rotation`` degrees clockwise for display. swscale converts any bit depth / range / matrix tagged."""
    # One swscale thread: its automatic threading costs more than it gains at these sizes (measured).
    if size is not None and (size[0], size[1]) != (frame.width, frame.height):
        frame = frame.reformat(width=size[0], height=size[1], format="rgb24", interpolation="AREA", threads=1)
    rgb: np.ndarray = frame.to_ndarray(format="rgb24", threads=1)
    if rotation:
        rgb = cv2.rotate(rgb, _ROTATE[rotation])
    return np.ascontiguousarray(rgb)


class Decoder:
    """One open container and video decoder (see the module docstring). Not thread-safe."""

    def __init__(
        self,
        path: str | Path,
        index: FrameIndex,
        threads: int = 0,
        thread_type: str = "AUTO",
        keyframes_only: bool = False,
    ) -> None:
        self.path = Path(path)
        self._keyframes_only = keyframes_only
        self.index = index
        self._threads = threads
        self._thread_type = thread_type
        self._container: av.container.InputContainer | None = None
        self.position: int | None = -1  # last source frame produced; -1: before the first; None: unknown
        #: the last frames decoded from a clean start, by source frame (pictures stay valid after a seek)
        self.recent: OrderedDict[int, av.VideoFrame] = OrderedDict()
        info = index.info
        frame_bytes = info.coded_width * info.coded_height * 3 // 2 * (2 if info.bit_depth > 8 else 1)
        self.keep_recent = max(1, min(KEEP_RECENT, KEEP_RECENT_BYTES // max(1, frame_bytes)))
        self.errors = 0  # packets the decoder refused (damaged data)
        self.restart()

    def restart(self) -> None:
        """(Re)open the file: the decoder then stands before the first frame."""
        self.close()
        self._container = open_container(self.path)
        try:
            self._stream = video_stream(self._container, self.path)
        except MediaError:
            self.close()
            raise
        self._stream.thread_type = self._thread_type
        self._stream.thread_count = self._threads
        if self._keyframes_only:  # thumbnails: everything but keyframes is skipped unseen
            self._stream.codec_context.skip_frame = "NONKEY"
        self._reset_state(clean_from=0)
        self.position = -1  # "the next frame out is source frame 0"

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    @property
    def is_open(self) -> bool:
        return self._container is not None

    def _open(self) -> av.container.InputContainer:
        if self._container is None:
            raise MediaError(f"{self.path.name}: the decoder is closed.", self.path)
        return self._container

    def _reset_state(self, clean_from: int) -> None:
        self._packets = self._open().demux(self._stream)
        self._pending: deque[av.VideoFrame] = deque()
        self._eof = False
        self._skipping = False
        self._clean_from = clean_from
        self.position = None

    def seek(self, k: int) -> None:
        """Stand before keyframe source frame ``k`` (decoding must start at a keyframe)."""
        try:
            self._open().seek(self.index.source_pts(k), stream=self._stream, backward=True)
        except av.error.FFmpegError:
            self.restart()  # not seekable this way: from the start is slow but exact
            return
        self._reset_state(clean_from=k)

    def decode_to(self, k: int, target_pts: int, full_from_pts: int | None = None) -> av.VideoFrame | None:
        """Decode forward to the frame with ``target_pts``; None if the stream passes it or ends first.

        Non-reference frames before ``full_from_pts`` (default: the target) are skipped undecoded."""
        full_from = target_pts if full_from_pts is None else full_from_pts
        while True:
            frame = self._next_frame(full_from)
            if frame is None:
                return None
            pts = frame.pts
            if pts is None:
                continue
            j = k if pts == target_pts else self.index.source_of_pts(pts)
            if j is not None and j >= self._clean_from:
                # decoded from a clean start (not a leading frame of an open GOP): forward reads may go on
                self.position = j
                self._remember(j, frame)
            if pts == target_pts:
                return frame
            if pts > target_pts:
                return None

    def _remember(self, j: int, frame: av.VideoFrame) -> None:
        self.recent[j] = frame
        self.recent.move_to_end(j)
        while len(self.recent) > self.keep_recent:
            self.recent.popitem(last=False)

    def _next_frame(self, full_from_pts: int) -> av.VideoFrame | None:
        while not self._pending:
            if self._eof:
                return None
            try:
                packet = next(self._packets)
            except StopIteration:
                self._eof = True
                return None
            except av.error.FFmpegError:
                self.errors += 1  # unreadable container data: treat as the end of what can be read
                self._eof = True
                return None
            self._set_skip(packet.size > 0 and packet.pts is not None and packet.pts < full_from_pts)
            try:
                self._pending.extend(self._stream.decode(packet))
            except av.error.FFmpegError:
                self.errors += 1  # a damaged packet: skip it, later frames may still decode
        return self._pending.popleft()

    def _set_skip(self, skip: bool) -> None:
        # Frames before the target that nothing references need not be decoded at all.
        if skip != self._skipping and not self._keyframes_only:
            self._stream.codec_context.skip_frame = "NONREF" if skip else "DEFAULT"
            self._skipping = skip


def decode_error(path: Path, n: int) -> MediaError:
    return MediaError(
        f"frame {n} of {path.name} could not be decoded; the file may be damaged or truncated.", path
    )
