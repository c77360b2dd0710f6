"""Mask and matte sequences: grey masks, and source frames with the mask as alpha."""

from __future__ import annotations

import av
import numpy as np
import pytest

from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.export import export_masks
from vivid_desktop.media.export_writers import read_png


def _masks(n: int = 4, width: int = 40, height: int = 30) -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    return [rng.integers(0, 256, (height, width), dtype=np.uint8) for _ in range(n)]


def _frames(n: int = 4, width: int = 40, height: int = 30) -> list[np.ndarray]:
    rng = np.random.default_rng(6)
    return [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(n)]


def test_mask_sequence_as_grey_pngs_and_lossless_grey_video(tmp_path):
    masks = _masks()
    seq = export_masks(masks, tmp_path / "masks", rate=25)
    assert all(np.array_equal(read_png(seq / f"{i:06d}.png"), m) for i, m in enumerate(masks))
    video = export_masks(masks, tmp_path / "masks.mkv", rate=25)
    with av.open(str(video)) as c:
        decoded = [f for f in c.decode(video=0)]
    assert decoded[0].format.name == "gray"
    assert all(np.array_equal(f.to_ndarray(), m) for f, m in zip(decoded, masks, strict=True))


def test_boolean_masks_become_0_and_255(tmp_path):
    mask = np.zeros((10, 12), bool)
    mask[2:5, 3:9] = True
    seq = export_masks([mask], tmp_path / "m", rate=25)
    assert np.array_equal(read_png(seq / "000000.png"), mask.astype(np.uint8) * 255)


def test_matte_png_is_rgba_with_the_mask_as_alpha(tmp_path):
    masks, frames = _masks(), _frames()
    seq = export_masks(masks, tmp_path / "matte", kind="matte", frames=frames, rate=25)
    for i in range(4):
        image = read_png(seq / f"{i:06d}.png")
        assert image.shape == (30, 40, 4)
        assert np.array_equal(image[:, :, :3], frames[i])
        assert np.array_equal(image[:, :, 3], masks[i])


def test_matte_prores_4444_carries_alpha(tmp_path):
    masks, frames = _masks(3, 64, 48), _frames(3, 64, 48)
    out = export_masks(masks, tmp_path / "matte.mov", kind="matte", frames=frames, rate=25)
    with av.open(str(out)) as c:
        stream = c.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.profile) == ("prores", "4444")
        rgba = [f.to_ndarray(format="rgba") for f in c.decode(stream)]
    assert len(rgba) == 3
    # ProRes is lossy on colour, near-lossless on alpha (16-bit alpha channel).
    assert max(np.abs(a[:, :, 3].astype(int) - m).max() for a, m in zip(rgba, masks, strict=True)) <= 1


def test_matte_mistakes_are_explained(tmp_path):
    with pytest.raises(MediaError, match="cannot store an alpha matte"):
        export_masks(_masks(), tmp_path / "m.mp4", kind="matte", frames=_frames(), rate=25)
    with pytest.raises(MediaError, match="needs the source frames"):
        export_masks(_masks(), tmp_path / "m.mov", kind="matte", rate=25)
    with pytest.raises(MediaError, match="not the same number"):
        export_masks(_masks(3), tmp_path / "m.mov", kind="matte", frames=_frames(4), rate=25)
    with pytest.raises(MediaError, match="kind"):
        export_masks(_masks(), tmp_path / "m.mov", kind="outline", rate=25)
    assert list(tmp_path.iterdir()) == []
