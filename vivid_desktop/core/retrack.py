"""Re-tracking after a correction touches only the frames between the corrected keyframe's neighbours.

The tracker's frames between two anchors depend on those two anchors only (see the flow engine's
``track.py``), so after keyframes were added, removed or repainted, only the frames from the anchor
before the first changed keyframe to the anchor after the last one need tracking again. The track folder
remembers which anchor masks it was made from (``anchors.json``: frame → digest of the mask file) and the
range; anything else (no record, another range, an unreadable record) means a full track.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from vivid_desktop.render_folder import frame_files

RECORD = "anchors.json"
_VERSION = 1


def mask_digest(path: str | os.PathLike[str]) -> str:
    """A digest of a mask file's bytes ("" when it cannot be read: it counts as changed)."""
    try:
        return hashlib.sha1(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def _read(folder: Path) -> dict | None:
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("version") == _VERSION else None


def plan_retrack(
    folder: str | os.PathLike[str], anchors: Mapping[int, str | os.PathLike[str]], start: int, stop: int
) -> tuple[int, int] | None:
    """The range ``[lo, hi)`` to track again for ``anchors`` (frame → mask file) over ``[start, stop)``:
    the whole range without a usable record, the span between the changed keyframes' neighbouring anchors
    otherwise, or None when no keyframe changed (frames missing from the folder are resumed by the job).
    """
    folder = Path(folder)
    record = _read(folder)
    if record is None or (record.get("start"), record.get("stop")) != (start, stop):
        return start, stop
    old = {int(k): v for k, v in record.get("anchors", {}).items()}
    new = {n: mask_digest(p) for n, p in anchors.items() if start <= n < stop}
    changed = sorted(n for n in set(old) | set(new) if old.get(n) != new.get(n))
    if not changed:
        return None
    before = [k for k in new if k < changed[0]]
    after = [k for k in new if k > changed[-1]]
    lo = max(before) if before else start
    hi = min(after) + 1 if after else stop
    return lo, hi


def clear_range(folder: str | os.PathLike[str], lo: int, hi: int) -> int:
    """Delete the tracked masks of frames ``[lo, hi)`` (the job then writes them again); how many."""
    gone = 0
    for n, path in frame_files(folder).items():
        if lo <= n < hi:
            path.unlink(missing_ok=True)
            gone += 1
    return gone


def record_anchors(
    folder: str | os.PathLike[str], anchors: Mapping[int, str | os.PathLike[str]], start: int, stop: int
) -> None:
    """Remember the anchors the folder's masks of ``[start, stop)`` were tracked from (atomically)."""
    folder = Path(folder)
    data = {
        "version": _VERSION,
        "start": start,
        "stop": stop,
        "anchors": {str(n): mask_digest(p) for n, p in sorted(anchors.items()) if start <= n < stop},
    }
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{RECORD}.tmp"
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, folder / RECORD)


def forget(folder: str | os.PathLike[str]) -> None:
    """Drop the record (the next track is a full one)."""
    (Path(folder) / RECORD).unlink(missing_ok=True)
