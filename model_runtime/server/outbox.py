"""The runtime's outgoing queue and the one thread that writes to the socket.

Replies and terminal events are never dropped. Progress is merged (one pending progress per job: the newest
replaces the older one in place, keeping the older one's preview when it has none of its own, so that a
throttled burst of steps cannot silently lose the one latent preview it carried); under back-pressure
previews are stripped from progress and ``frame_ready`` events, which keep their paths (DESIGN.md §4).
"""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
from collections import deque
from collections.abc import Callable

from vivid_desktop.protocol.envelope import Message, encode_message

log = logging.getLogger(__name__)

#: Pending messages beyond which previews are stripped.
HIGH_WATER = 32


@dataclasses.dataclass
class _Item:
    message: Message
    merge_key: object = None


class Outbox:
    """Queue messages from any thread; one writer thread sends them in order."""

    def __init__(self, sock: socket.socket, on_broken: Callable[[], None] | None = None) -> None:
        self._sock = sock
        self._on_broken = on_broken
        self._items: deque[_Item] = deque()
        self._merge: dict[object, _Item] = {}
        self._cond = threading.Condition()
        self._closing = False
        self._broken = False
        self._thread = threading.Thread(target=self._run, name="vivid-runtime-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def put(self, message: Message, merge_key: object = None, strippable: bool = False) -> None:
        """Queue ``message``; ``merge_key`` merges with a pending message of the same key."""
        with self._cond:
            if self._broken or self._closing:
                return
            if strippable and len(self._items) >= HIGH_WATER:
                message = strip_preview(message)
            pending = self._merge.get(merge_key) if merge_key is not None else None
            if pending is not None:
                pending.message = keep_preview(message, pending.message)
                return
            item = _Item(message, merge_key)
            self._items.append(item)
            if merge_key is not None:
                self._merge[merge_key] = item
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._items)

    def close(self, timeout: float = 2.0) -> None:
        """Send what is queued (up to ``timeout``), then stop the writer thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._closing:
                    self._cond.wait()
                if not self._items:
                    return
                item = self._items.popleft()
                if item.merge_key is not None:
                    self._merge.pop(item.merge_key, None)
            try:
                self._sock.sendall(encode_message(item.message))
            except OSError as exc:
                log.info("connection lost while writing: %s", exc)
                with self._cond:
                    self._broken = True
                    self._items.clear()
                if self._on_broken:
                    self._on_broken()
                return
            except Exception:  # a message that cannot be encoded is a bug; it must not stop the writer
                log.exception("cannot send %s", item.message.msg_type)


def strip_preview(message: Message) -> Message:
    """The same event without its preview buffer."""
    if getattr(message.content, "preview", None) is None:
        return message
    content = message.content.model_copy(update={"preview": None})
    return dataclasses.replace(message, content=content, buffers=())


def keep_preview(newer: Message, older: Message) -> Message:
    """``newer``, carrying ``older``'s preview when ``newer`` has no preview (nor any buffer) of its own."""
    old_preview = getattr(older.content, "preview", None)
    new_preview = getattr(newer.content, "preview", False)  # False: a message without a preview field
    if old_preview is None or new_preview is not None or newer.buffers:
        return newer
    content = newer.content.model_copy(update={"preview": old_preview})
    return dataclasses.replace(newer, content=content, buffers=older.buffers)
