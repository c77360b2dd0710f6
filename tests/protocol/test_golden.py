"""Golden fixtures pin the wire format: one JSON envelope per message type in tests/protocol/golden/.

A change to a fixture is a deliberate act: regenerate with ``VIVID_UPDATE_GOLDEN=1 pytest tests/protocol``,
review the diff, and bump PROTOCOL_VERSION (minor for additions, major for changes of meaning).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pydantic import BaseModel

from vivid_desktop.protocol import messages as m
from vivid_desktop.protocol import uploads as u
from vivid_desktop.protocol.envelope import make_message, parse_envelope
from vivid_desktop.protocol.errors import ErrorCode, JobError
from vivid_desktop.protocol.jobs import (
    EditKeyframeRequest,
    KeyframeSpec,
    RenderBatch,
    RenderPlan,
    TrackMasksRequest,
    TrainRequest,
)

GOLDEN = Path(__file__).parent / "golden"
SHA = "ab" * 32
UPDATE = os.environ.get("VIVID_UPDATE_GOLDEN") == "1"

ERR = m.ErrorInfo(code=ErrorCode.SOURCE_MISSING, message="source clip not found: /clips/a.mp4")
PREVIEW = m.PreviewInfo(format="jpeg", width=160, height=90, buffer=0)
ENGINE = m.EngineDescription(name="flow", available=True, tasks=["add", "modify", "delete"])
FACTS = m.RuntimeFacts(
    torch="2.4.0", cuda="12.1", gpus=[{"index": 0, "name": "GPU", "memory_bytes": 8 << 30}]
)

#: msg_type → (content, job_id) of the sample message pinned by the fixture
SAMPLES: dict[str, tuple[BaseModel, str | None]] = {
    "hello": (
        m.Hello(
            protocol="1.0",
            secret="s3cr3t",
            client="vivid-desktop",
            client_version="0.1.0",
            features=["binary_previews", "cancel"],
        ),
        None,
    ),
    "hello_reply": (
        m.HelloReply(
            protocol="1.0",
            runtime_version="0.1.0",
            python="3.11.7",
            platform="Linux x86_64",
            pid=4242,
            torch_installed=True,
            engines=[ENGINE],
            features=["binary_previews", "cancel"],
        ),
        None,
    ),
    "ping": (m.Ping(), None),
    "pong": (m.Pong(), None),
    "status": (m.Status(), None),
    "status_reply": (
        m.StatusReply(
            state="busy",
            current_job="job-1",
            current_kind="propagate",
            queued=["job-2"],
            uptime_s=12.5,
            facts=FACTS,
        ),
        None,
    ),
    "runtime_facts": (m.RuntimeFactsRequest(), None),
    "runtime_facts_reply": (m.RuntimeFactsReply(facts=FACTS), None),
    "cancel": (m.Cancel(job_id="job-1"), None),
    "cancel_reply": (m.CancelReply(job_id="job-1", outcome="cancelling"), None),
    "shutdown": (m.Shutdown(), None),
    "shutdown_reply": (m.ShutdownReply(), None),
    "error_reply": (
        m.ErrorReply(error=m.ErrorInfo(code="unknown_message_type", message="unknown 'x'")),
        None,
    ),
    "edit_keyframe": (
        EditKeyframeRequest(
            source="/clips/a.mp4",
            frame=12,
            mask="/p/masks/000012.png",
            task="delete",
            caption="",
            engine="flow",
            seed=3,
            output="/p/keys/000012.png",
        ),
        "job-1",
    ),
    "edit_keyframe_reply": (m.EditKeyframeReply(job_id="job-1"), "job-1"),
    "track_masks": (
        TrackMasksRequest(
            source="/clips/a.mp4",
            start=0,
            stop=49,
            anchors=[KeyframeSpec(frame=0, mask="/p/masks/000000.png")],
            output_dir="/p/masks",
        ),
        "job-1",
    ),
    "track_masks_reply": (m.TrackMasksReply(ok=False, error=ERR, job_id="job-1"), "job-1"),
    "propagate": (
        RenderPlan(
            source="/clips/a.mp4",
            start=0,
            stop=97,
            mask_dir="/p/masks",
            keyframes=[KeyframeSpec(frame=48, mask="/p/masks/000048.png", image="/p/k/48.png")],
            task="modify",
            caption="a red car",
            engine="vivid",
            seed=7,
            settings={"steps": 50, "guidance": 6.0},
            output_dir="/p/render",
        ),
        "job-1",
    ),
    "propagate_reply": (m.PropagateReply(job_id="job-1", position=1), "job-1"),
    "render_batch": (
        RenderBatch(
            plans=[
                RenderPlan(
                    source="/clips/shot1.mp4",
                    start=0,
                    stop=40,
                    mask="/p/shot1.png",
                    task="delete",
                    output_dir="/p/shot1",
                )
            ],
            cluster="ray://head:10001",
        ),
        "job-3",
    ),
    "render_batch_reply": (m.RenderBatchReply(job_id="job-3", position=2), "job-3"),
    "train": (
        TrainRequest(
            data="/p/project.vivid",
            model="/models/cogvideox-fun-inp",
            output="/p/loras/mine.safetensors",
            steps=200,
            rank=32,
        ),
        "job-2",
    ),
    "train_reply": (m.TrainReply(job_id="job-2"), "job-2"),
    "metrics": (m.Metrics(step=12, values={"loss": 0.1234, "lr": 0.0001}), "job-2"),
    "started": (m.Started(kind="propagate"), "job-1"),
    "progress": (
        m.Progress(
            done=3, total=50, message="keyframe 12: step 3/50", eta_s=31.5, preview=PREVIEW, unit="step"
        ),
        "job-1",
    ),
    "frame_ready": (m.FrameReady(frame=12, path="/p/render/000012.png", preview=PREVIEW), "job-1"),
    "log": (m.Log(level="warning", message="memory mode: model offload"), "job-1"),
    "succeeded": (m.Succeeded(result={"output_dir": "/p/render", "frames": 97, "missing": 0}), "job-1"),
    "failed": (m.Failed(code=ErrorCode.MASK_SIZE, message="mask is 640x360, the clip is 854x480"), "job-1"),
    "cancelled": (m.Cancelled(message=""), "job-1"),
    # a remote runtime's uploads and fetches (vivid_desktop/protocol/uploads.py)
    "upload_status": (u.UploadStatus(blobs=[u.BlobInfo(sha256=SHA, size=1234)]), None),
    "upload_status_reply": (u.UploadStatusReply(received={SHA: 1000}), None),
    "upload_chunk": (u.UploadChunk(sha256=SHA, size=1234, offset=1000), None),
    "upload_chunk_reply": (u.UploadChunkReply(sha256=SHA, received=1234, complete=True), None),
    "make_folder": (u.MakeFolder(files={"000012.png": SHA}), None),
    "make_folder_reply": (u.MakeFolderReply(ref=f"folder:{SHA}"), None),
    "fetch_file": (u.FetchFile(ref="render:k1/000012.png", offset=0), None),
    "fetch_file_reply": (
        u.FetchFileReply(ref="render:k1/000012.png", offset=0, size=5678, sha256=SHA),
        None,
    ),
    "list_render": (u.ListRender(ref="render:k1"), None),
    "list_render_reply": (u.ListRenderReply(files={"000012.png": 5678}), None),
}


def sample_json(msg_type: str) -> dict:
    content, job_id = SAMPLES[msg_type]
    msg = make_message(
        content,
        session="session-0",
        msg_id=f"msg-{msg_type}",
        job_id=job_id,
        parent_id=None if msg_type in m.REPLY_TYPES else "msg-request",
        sent_at="2025-01-01T00:00:00.000Z",
    )
    return msg.to_json()


def test_every_message_type_has_a_sample_and_a_fixture():
    assert set(SAMPLES) == set(m.MESSAGE_TYPES)
    assert {p.stem for p in GOLDEN.glob("*.json")} == set(m.MESSAGE_TYPES)


@pytest.mark.parametrize("msg_type", sorted(SAMPLES))
def test_encoding_matches_the_golden_fixture(msg_type):
    path = GOLDEN / f"{msg_type}.json"
    data = sample_json(msg_type)
    if UPDATE:
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    assert json.loads(path.read_text()) == data


@pytest.mark.parametrize("msg_type", sorted(SAMPLES))
def test_golden_fixture_decodes_to_the_typed_message(msg_type):
    data = json.loads((GOLDEN / f"{msg_type}.json").read_text())
    msg = parse_envelope(data)
    assert msg.msg_type == msg_type and msg.known
    assert type(msg.content) is m.MESSAGE_TYPES[msg_type]
    assert msg.content == SAMPLES[msg_type][0]
    assert msg.to_json() == data


def test_every_error_code_is_documented_once():
    """docs/protocol.md's code table and :class:`ErrorCode` agree (a new code is added to both)."""
    text = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text()
    table = text.split("### Error codes", 1)[1].split("###", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "`" in line]
    documented = [
        code for row in rows for code in row.split("|")[2].replace("`", "").replace(",", " ").split()
    ]
    assert sorted(documented) == sorted(c.value for c in ErrorCode)
    assert len(set(documented)) == len(documented)


def test_a_job_error_takes_only_known_codes_and_sends_the_plain_string():
    err = JobError("mask_size", "the mask is 4×4, the clip is 8×8")
    assert err.code is ErrorCode.MASK_SIZE
    assert m.Failed(code=err.code, message=err.message).model_dump(mode="json")["code"] == "mask_size"
    with pytest.raises(ValueError):
        JobError("no_mask", "a code that is not in the enum is a bug")
