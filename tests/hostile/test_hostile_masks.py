"""Bad masks: through the real flow engine and the project store, success with the right pixels or one
clear error."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hostile_helpers import H, N, W

from model_runtime.engines.base import EngineError
from model_runtime.engines.flow import FlowEngine
from vivid_desktop.core.files import read_png
from vivid_desktop.core.project import ProjectError
from vivid_desktop.core.store import open_project
from vivid_desktop.media.reader import FrameReader
from vivid_desktop.protocol.jobs import RenderPlan


class Quiet:
    def progress(self, done, total, message="", preview=None):
        pass

    def frame_ready(self, frame, path, preview=None):
        pass

    def check_cancelled(self):
        pass

    def log(self, message):
        pass


def box(value: int = 255, dtype=np.uint8) -> np.ndarray:
    mask = np.zeros((H, W), dtype)
    mask[10:22, 14:30] = value
    return mask


def render(clip: Path, out: Path, masks: dict[int, np.ndarray], feather: int = 2) -> list[np.ndarray]:
    folder = out / "masks"
    folder.mkdir(parents=True)
    for n, mask in masks.items():
        cv2.imwrite(str(folder / f"{n:06d}.png"), mask)
    plan = RenderPlan(
        source=str(clip), start=0, stop=N, mask_dir=str(folder), task="delete",
        output_dir=str(out / "render"), feather=feather,
    )  # fmt: skip
    FlowEngine().propagate(plan, Quiet())
    return [read_png(out / "render" / f"{n:06d}.png") for n in range(N)]


@pytest.fixture(scope="module")
def source(clip) -> list[np.ndarray]:
    with FrameReader(clip) as reader:
        return [reader.read(n).copy() for n in range(N)]


@pytest.fixture(scope="module")
def reference(clip, tmp_path_factory) -> list[np.ndarray]:
    return render(clip, tmp_path_factory.mktemp("ref"), {n: box() for n in range(N)})


def test_an_all_black_mask_leaves_the_clip_exactly_as_it_was(clip, tmp_path, source):
    out = render(clip, tmp_path, {n: np.zeros((H, W), np.uint8) for n in range(N)})
    assert all(np.array_equal(a, b) for a, b in zip(out, source, strict=True))


def test_an_all_white_mask_renders_every_frame(clip, tmp_path):
    out = render(clip, tmp_path, {n: np.full((H, W), 255, np.uint8) for n in range(N)})
    assert [o.shape for o in out] == [(H, W, 3)] * N


@pytest.mark.parametrize(
    "variant",
    [
        lambda m: cv2.cvtColor(m, cv2.COLOR_GRAY2BGRA),  # RGBA (opaque)
        lambda m: m.astype(np.uint16) * 257,  # 16-bit
        lambda m: cv2.cvtColor(m, cv2.COLOR_GRAY2BGR),  # colour
    ],
    ids=["rgba", "16-bit", "rgb"],
)
def test_other_mask_formats_mean_the_same_pixels(clip, tmp_path, reference, variant):
    out = render(clip, tmp_path, {n: variant(box()) for n in range(N)})
    assert all(np.array_equal(a, b) for a, b in zip(out, reference, strict=True))


def test_gaps_in_a_mask_folder_use_the_nearest_mask(clip, tmp_path, reference):
    out = render(clip, tmp_path, {0: box(), 5: box()})  # frames 1–4 have no file
    assert all(np.array_equal(a, b) for a, b in zip(out, reference, strict=True))


@pytest.mark.parametrize(
    ("mask", "code"),
    [
        (np.zeros((H + 1, W), np.uint8), "mask_size"),
        (np.zeros((W, H), np.uint8), "mask_size"),
        (b"", "mask_unreadable"),
        (b"\x89PNG\r\n\x1a\n truncated", "mask_unreadable"),
    ],
    ids=["one-row-taller", "transposed", "zero-bytes", "truncated-png"],
)
def test_unusable_masks_are_one_clear_error(clip, tmp_path, mask, code):
    folder = tmp_path / "masks"
    folder.mkdir()
    path = folder / "000000.png"
    path.write_bytes(mask) if isinstance(mask, bytes) else cv2.imwrite(str(path), mask)
    plan = RenderPlan(
        source=str(clip), start=0, stop=N, mask=str(path), task="delete", output_dir=str(tmp_path / "r")
    )
    with pytest.raises(EngineError) as caught:
        FlowEngine().propagate(plan, Quiet())
    assert caught.value.code == code and "\n" not in caught.value.message
    assert not list(tmp_path.glob("r/*.png"))


def test_the_store_reads_other_formats_and_refuses_a_wrong_size(store):
    edit_id = store.project.edits[0].id
    path = store.mask_path(edit_id, 2)
    cv2.imwrite(str(path), cv2.cvtColor(box(), cv2.COLOR_GRAY2BGRA))
    assert np.array_equal(open_project(store.folder).read_mask(edit_id, 2), box())
    cv2.imwrite(str(path), box(65535, np.uint16))
    assert np.array_equal(open_project(store.folder).read_mask(edit_id, 2), box())
    cv2.imwrite(str(path), np.zeros((H, W + 2), np.uint8))
    with pytest.raises(ProjectError, match=f"is {W + 2}×{H}, but the clip is {W}×{H}"):
        open_project(store.folder).read_mask(edit_id, 2)
