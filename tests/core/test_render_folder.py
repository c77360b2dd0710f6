"""The render folder's rules: names, the done-frames scan, atomic writes, temps, masks and their size."""

from __future__ import annotations

import numpy as np
import pytest

from vivid_desktop.protocol.errors import JobError
from vivid_desktop.render_folder import (
    MaskFolder,
    done_frames,
    frame_name,
    frame_number,
    frame_path,
    frame_preview,
    missing_frames,
    nearest,
    read_done_frame,
    read_image,
    read_mask,
    remove_stale_temps,
    write_frame,
)


def test_names_round_trip(tmp_path):
    assert frame_name(12) == "000012.png" and frame_name(1234567) == "1234567.png"
    assert frame_path(tmp_path, 3) == tmp_path / "000003.png"
    assert frame_number("000012.png") == 12 and frame_number("000012.PNG") == 12
    for other in ("12.jpg", ".000012.png.abc.tmp", "a12.png", "000012.png.tmp", "mask.png"):
        assert frame_number(other) is None


def test_done_and_missing_frames_ignore_temps_and_other_files(tmp_path):
    assert done_frames(tmp_path / "nowhere") == []
    for n in (0, 1, 3, 7):
        write_frame(frame_path(tmp_path, n), np.full((4, 6, 3), n, np.uint8), durable=False)
    (tmp_path / ".000002.png.x1y2.tmp").write_bytes(b"half")
    (tmp_path / "inputs").mkdir()
    (tmp_path / "notes.txt").write_text("x")
    assert done_frames(tmp_path) == [0, 1, 3, 7]
    assert done_frames(tmp_path, 1, 7) == [1, 3]
    assert missing_frames(tmp_path, 0, 5) == [2, 4]


def test_write_frame_is_whole_and_lossless_and_makes_folders(tmp_path):
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (9, 13, 3), np.uint8)
    grey = rng.integers(0, 256, (9, 13), np.uint8)
    path = write_frame(tmp_path / "a" / "b" / frame_name(5), rgb)
    np.testing.assert_array_equal(read_image(path), rgb)
    np.testing.assert_array_equal(read_mask(write_frame(tmp_path / "m.png", grey)), grey)
    assert [p.name for p in path.parent.iterdir()] == ["000005.png"]  # no temp left behind
    with pytest.raises(ValueError):
        write_frame(tmp_path / "x.png", rgb.astype(np.float32))


def test_write_failure_is_one_coded_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(JobError) as err:
        write_frame(tmp_path / "file" / "000000.png", np.zeros((2, 2), np.uint8))
    assert err.value.code == "write_failed" and "000000.png" in err.value.message


def test_stale_temps_of_every_writer_are_removed(tmp_path):
    write_frame(frame_path(tmp_path, 0), np.zeros((2, 2), np.uint8))
    for name in (".000001.png.abc.tmp", ".tmp-xyz.png", ".000002.tmp.png", ".000003.k2j.png"):
        (tmp_path / name).write_bytes(b"partial")
    assert remove_stale_temps(tmp_path) == 4
    assert [p.name for p in tmp_path.iterdir()] == ["000000.png"]
    assert remove_stale_temps(tmp_path / "missing") == 0


def test_mask_size_rule_is_h_w_and_refuses(tmp_path):
    path = write_frame(tmp_path / "m.png", np.zeros((50, 100), np.uint8))
    assert read_mask(path, (50, 100)).shape == (50, 100)
    with pytest.raises(JobError) as err:
        read_mask(path, (100, 50))
    assert err.value.code == "mask_size" and "100×50" in err.value.message and "50×100" in err.value.message
    colour = write_frame(tmp_path / "c.png", np.full((50, 100, 3), 255, np.uint8))
    assert read_mask(colour, (50, 100)).ndim == 2  # a colour mask file is read as grey
    with pytest.raises(JobError) as err:
        read_image(colour, (40, 100))
    assert err.value.code == "image_size"


def test_missing_and_unreadable_files_have_codes(tmp_path):
    with pytest.raises(JobError) as err:
        read_mask(tmp_path / "none.png")
    assert err.value.code == "mask_missing"
    (tmp_path / "junk.png").write_bytes(b"not a png")
    with pytest.raises(JobError) as err:
        read_image(tmp_path / "junk.png")
    assert err.value.code == "image_unreadable"
    assert read_done_frame(tmp_path, 4) is None
    (tmp_path / "000004.png").write_bytes(b"torn")
    assert read_done_frame(tmp_path, 4) is None


def test_nearest_prefers_the_earlier_frame_on_a_tie():
    frames = [2, 6, 10]
    assert [nearest(frames, t) for t in (0, 2, 3, 4, 5, 8, 9, 30)] == [2, 2, 2, 2, 6, 6, 10, 10]


def test_mask_folder_uses_the_nearest_file(tmp_path):
    for n in (2, 6):
        write_frame(frame_path(tmp_path, n), np.full((3, 4), n, np.uint8))
    masks = MaskFolder(tmp_path)
    assert masks.path(4) == frame_path(tmp_path, 2) and masks.path(5) == frame_path(tmp_path, 6)
    assert int(masks.read(100, (3, 4))[0, 0]) == 6
    (tmp_path / "empty").mkdir()
    for folder in (tmp_path / "empty", tmp_path / "none"):
        with pytest.raises(JobError) as err:
            MaskFolder(folder)
        assert err.value.code == "mask_missing"


def test_frame_preview_is_a_small_copy():
    big = np.zeros((240, 432, 3), np.uint8)
    assert frame_preview(big).shape == (89, 160, 3)
    small = np.zeros((20, 30, 3), np.uint8)
    copy = frame_preview(small)
    assert copy.shape == small.shape and copy is not small and not np.shares_memory(copy, small)
