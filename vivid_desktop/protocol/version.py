"""The protocol's own version, separate from the package version (DESIGN.md §4).

``MAJOR.MINOR``: a new minor adds optional fields, message types or features that an older peer may
ignore; a new major changes the meaning of something that exists. Peers with different majors refuse to
talk, with a clear message on both sides.
"""

from __future__ import annotations

PROTOCOL_VERSION = "1.3"

#: Optional abilities named in ``hello`` / ``hello_reply``; a peer uses a feature only if both list it.
FEATURES: tuple[str, ...] = ("binary_previews", "cancel", "cluster", "resume", "runtime_facts")


class ProtocolVersionError(ValueError):
    """The peer speaks an incompatible protocol version."""


def parse_version(text: str) -> tuple[int, int]:
    """``"1.2"`` → ``(1, 2)``; anything else raises :class:`ProtocolVersionError`."""
    parts = str(text).split(".")
    if len(parts) != 2 or not all(p.isdigit() and len(p) <= 6 for p in parts):
        raise ProtocolVersionError(f"not a protocol version: {text!r}")
    return int(parts[0]), int(parts[1])


def check_compatible(theirs: str, ours: str = PROTOCOL_VERSION) -> None:
    """Raise :class:`ProtocolVersionError` with a user-readable message unless the majors match."""
    their_major, _ = parse_version(theirs)
    our_major, _ = parse_version(ours)
    if their_major != our_major:
        raise ProtocolVersionError(
            f"protocol version mismatch: this side speaks {ours}, the other side {theirs}; "
            "install matching versions of VIVID Desktop and its runtime"
        )
