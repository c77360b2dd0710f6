"""Error codes, and the error a job reports to the editor.

Every ``code`` in a ``failed`` event or in a reply's ``error`` is an :class:`ErrorCode`. It is a ``str``
enum, so on the wire a code is the plain string (``"mask_size"``); a client reads it as a string and
keeps working when a newer runtime sends a code it does not know. The same failure has the same code
whichever engine meets it: the shared layers (the render folder, the source frames) raise it for both.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """The stable codes of job failures and refused requests (docs/protocol.md lists them)."""

    # the request and its files, whatever the engine
    SOURCE_MISSING = "source_missing"
    SOURCE_UNREADABLE = "source_unreadable"
    MASK_MISSING = "mask_missing"
    MASK_UNREADABLE = "mask_unreadable"
    MASK_SIZE = "mask_size"
    IMAGE_MISSING = "image_missing"
    IMAGE_UNREADABLE = "image_unreadable"
    IMAGE_SIZE = "image_size"
    EMPTY_RANGE = "empty_range"
    NO_ANCHOR = "no_anchor"
    NEEDS_EDITED_IMAGE = "needs_edited_image"
    BAD_SETTINGS = "bad_settings"
    FILE_NOT_FOUND = "file_not_found"
    WRITE_FAILED = "write_failed"
    NOT_WRITABLE = "not_writable"
    INCOMPLETE = "incomplete"
    # engines and models
    UNKNOWN_ENGINE = "unknown_engine"
    ENGINE_UNAVAILABLE = "engine_unavailable"
    NO_MODEL = "no_model"
    MODEL_NOT_FOUND = "model_not_found"
    MODEL_INVALID = "model_invalid"
    UNSUPPORTED_MODEL = "unsupported_model"
    PICKLE_REFUSED = "pickle_refused"
    LORA_NOT_FOUND = "lora_not_found"
    LORA_INVALID = "lora_invalid"
    NO_GPU = "no_gpu"
    OUT_OF_MEMORY = "out_of_memory"
    # rendering on a cluster
    CLUSTER_UNAVAILABLE = "cluster_unavailable"
    FARM_FAILED = "farm_failed"
    # training
    DATASET_INVALID = "dataset_invalid"
    CHECKPOINT_UNREADABLE = "checkpoint_unreadable"
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"
    # the runtime and its requests
    BAD_REQUEST = "bad_request"
    DUPLICATE_JOB = "duplicate_job"
    UNKNOWN_JOB = "unknown_job"
    REFUSED = "refused"
    RUNTIME_DIED = "runtime_died"
    INTERNAL_ERROR = "internal_error"
    PROTOCOL_MISMATCH = "protocol_mismatch"
    # messages the other side cannot act on (``error_reply``)
    BAD_FRAME = "bad_frame"
    BAD_JSON = "bad_json"
    BAD_ENVELOPE = "bad_envelope"
    INVALID_CONTENT = "invalid_content"
    UNKNOWN_MESSAGE_TYPE = "unknown_message_type"
    FRAME_TOO_LARGE = "frame_too_large"
    # a remote runtime's uploads and references (vivid_desktop/protocol/uploads.py)
    BAD_REFERENCE = "bad_reference"
    BAD_OFFSET = "bad_offset"
    HASH_MISMATCH = "hash_mismatch"
    TOO_LARGE = "too_large"
    BAD_REPLY = "bad_reply"


class JobError(Exception):
    """A failure the user can act on: an :class:`ErrorCode` and a one-line ``message`` for the user.

    A code that is not an :class:`ErrorCode` is a bug (``ValueError``): new codes are added to the enum
    and to docs/protocol.md, deliberately.
    """

    def __init__(self, code: ErrorCode | str, message: str) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
