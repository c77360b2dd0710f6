"""Latents and text embeddings are cached by content: unchanged samples are reused, changed ones redone."""

from __future__ import annotations

import os

import numpy as np
import torch
from safetensors import safe_open
from train_helpers import small_request

from model_runtime.training.augment import AUGMENTATIONS
from model_runtime.training.cache import build_cache, load_unit
from model_runtime.training.datasets import check_dataset
from model_runtime.training.model import load_train_model
from model_runtime.training.units import units_of
from vivid_desktop.core.files import read_png, write_png
from vivid_desktop.datasets.synthetic import SIZE, make_dataset
from vivid_desktop.protocol.jobs import DELETE_CAPTION


def test_cache_reuses_unchanged_units_and_recomputes_changed_ones(tmp_path, tiny_model):
    data = make_dataset(tmp_path / "data", images=2, clips=1)
    (data / "img1.txt").write_text(DELETE_CAPTION)
    request = small_request(data, tiny_model, tmp_path / "out.safetensors")
    model = load_train_model(request, torch.device("cpu"))
    folder = tmp_path / "cache"

    def build():
        ds = check_dataset(data, request.num_frames)
        units = [u for s in ds.train for u in units_of(s, request.num_frames, 1)]
        return build_cache(units, folder, model, (SIZE, SIZE))

    index, stats = build()
    assert len(stats.computed) == len(index) == 4 and not stats.reused
    by_name = {u.name: u for u in index}
    clip = by_name["clip0.mp4 [0–4]"]
    assert clip.kind == "video" and clip.augment == AUGMENTATIONS and clip.deletion == ("delete0", "delete1")
    deleting = by_name["img1.png [0]"]
    assert deleting.augment == () and deleting.deletion  # a delete sample trains only deletion holes
    target, cond, text = load_unit(clip, "hull")
    assert target.shape == (2, 4, 4, 4) and cond.shape == (2, 5, 4, 4)  # (Lf, C | 1 + C, h, w)
    assert text.shape == (16, 32)
    # Different augmentations give different conditioning (the mask channel differs).
    assert not np.allclose(load_unit(clip, "original")[1].numpy(), load_unit(clip, "box_expand")[1].numpy())
    with safe_open(str(deleting.text), framework="pt") as f:
        assert f.metadata()["vivid"].find("remove objects") > 0

    _, stats = build()
    assert not stats.computed and len(stats.reused) == 4

    mask_file = data / "img0.mask.png"
    os.utime(mask_file, ns=(1, 1))  # touched, same bytes: still reused
    _, stats = build()
    assert not stats.computed

    mask = read_png(mask_file, grey=True)
    mask[:4, :4] = 255
    write_png(mask_file, mask)
    _, stats = build()
    assert stats.computed == ["img0.png [0]"] and len(stats.reused) == 3
