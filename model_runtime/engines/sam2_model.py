"""SAM 2.1 in the runtime, on transformers' pure-PyTorch port (``Sam2VideoModel``): loading and one step.

The upstream ``sam2`` package is not used (a source-only archive that compiles a CUDA extension, needs
torchvision and Hydra, and ships ``.pt`` pickles); transformers, already in our lock, carries the same
network. Weights come from a local folder only (``use_safetensors=True``, ``local_files_only=True``: no
pickle, no hub). Its processors need torchvision, so the few steps they do are done here: a frame is
resized to the model's square input and normalised with the folder's ``preprocessor_config.json`` mean
and std (ImageNet's without one); clicks and boxes are scaled to that square.

One loaded model serves click-to-select (:class:`Sam2Segmenter`) and tracking
(:mod:`model_runtime.engines.sam2_track`); the last one loaded is kept for the next job.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from model_runtime.engines.base import EngineError
from model_runtime.engines.sam2_folder import MaskModelFolder, check_mask_folder
from vivid_desktop.core.select import Prompt
from vivid_desktop.protocol.errors import ErrorCode

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: Point labels of SAM's prompt encoder: background click, object click, box corners.
NEGATIVE, POSITIVE, BOX_TOP_LEFT, BOX_BOTTOM_RIGHT = 0, 1, 2, 3

_lock = threading.Lock()
_loaded: dict[tuple[str, str], Sam2] = {}


def pick_device(name: str = "auto") -> str:
    """``auto``: the GPU when there is one, else the CPU (as the vivid engine chooses)."""
    from model_runtime.vivid.runner import pick_device as vivid_pick

    return vivid_pick(name)


def load_sam2(spec: str | Path, device: str = "auto") -> Sam2:
    """The SAM 2 model in folder ``spec`` on ``device``; the last one loaded is reused."""
    folder = check_mask_folder(spec)
    device = pick_device(device)
    key = (str(folder.path), device)
    with _lock:
        if key not in _loaded:
            _loaded.clear()  # one model at a time: a second would double the memory
            _loaded[key] = Sam2(folder, device)
        return _loaded[key]


def _normalisation(root: Path) -> tuple[tuple[float, ...], tuple[float, ...]]:
    try:
        data = json.loads((root / "preprocessor_config.json").read_text(encoding="utf-8"))
        mean, std = tuple(float(v) for v in data["image_mean"]), tuple(float(v) for v in data["image_std"])
        if len(mean) == 3 and len(std) == 3 and min(std) > 0:
            return mean, std
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return IMAGENET_MEAN, IMAGENET_STD


class Sam2:
    """A loaded ``Sam2VideoModel``: frames in, mask logits out."""

    def __init__(self, folder: MaskModelFolder, device: str) -> None:
        import torch
        from transformers import Sam2VideoModel

        self.folder, self.device, self.size = folder, device, folder.image_size
        try:
            # Any: transformers wraps ``to`` in a decorator whose stub mypy misreads.
            model: Any = Sam2VideoModel.from_pretrained(
                str(folder.path), use_safetensors=True, local_files_only=True, dtype=torch.float32
            )
        except (OSError, ValueError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            message = f"cannot load SAM 2 from {folder.path}: {first}"
            raise EngineError(ErrorCode.MODEL_INVALID, message) from None
        self.model: Any = model.to(device).eval()
        mean, std = _normalisation(folder.path)
        self._mean = torch.tensor(mean, device=device).view(3, 1, 1)
        self._std = torch.tensor(std, device=device).view(3, 1, 1)

    def pixels(self, image: np.ndarray):
        """An RGB uint8 frame as the model's normalised square input (3, S, S)."""
        import torch

        h, w = image.shape[:2]
        shrink = h > self.size or w > self.size
        square = cv2.resize(
            image, (self.size, self.size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        )
        x = torch.from_numpy(np.ascontiguousarray(square)).to(self.device).permute(2, 0, 1).float() / 255.0
        return (x - self._mean) / self._std

    def session(self, height: int, width: int):
        """A fresh streaming session (frames are handed in one at a time)."""
        import torch
        from transformers.models.sam2_video.modeling_sam2_video import Sam2VideoInferenceSession

        return Sam2VideoInferenceSession(
            video_height=height,
            video_width=width,
            inference_device=self.device,
            inference_state_device=self.device,
            video_storage_device=self.device,
            dtype=torch.float32,
        )

    def prompt_inputs(self, prompt: Prompt, height: int, width: int) -> dict:
        """Clicks and box in frame pixels → the point inputs SAM's prompt encoder takes (box first)."""
        import torch

        sx, sy = self.size / width, self.size / height
        coords: list[tuple[float, float]] = []
        labels: list[int] = []
        if prompt.box is not None:
            x0, y0, x1, y1 = prompt.box
            coords += [(min(x0, x1) * sx, min(y0, y1) * sy), (max(x0, x1) * sx, max(y0, y1) * sy)]
            labels += [BOX_TOP_LEFT, BOX_BOTTOM_RIGHT]
        for points, label in ((prompt.positive, POSITIVE), (prompt.negative, NEGATIVE)):
            coords += [(x * sx, y * sy) for x, y in points]
            labels += [label] * len(points)
        return {
            "point_coords": torch.tensor([[coords]], dtype=torch.float32, device=self.device),
            "point_labels": torch.tensor([[labels]], dtype=torch.int32, device=self.device),
        }

    def step(self, session, t: int, image: np.ndarray, reverse: bool = False):
        """Run frame ``t`` of ``session``: its low-resolution mask logits (a CPU tensor)."""
        import torch

        with torch.inference_mode():
            out = self.model(session, frame=self.pixels(image), frame_idx=t, reverse=reverse)
        # The session keeps every frame handed in; this one is not looked at again.
        session.processed_frames.pop(t, None)
        return out.pred_masks[0, 0].float().cpu()

    @staticmethod
    def full_size(logits, height: int, width: int) -> np.ndarray:
        """Low-resolution logits → float32 logits at the frame's size."""
        import torch.nn.functional as F

        up = F.interpolate(logits[None, None], size=(height, width), mode="bilinear", align_corners=False)
        return up[0, 0].numpy()


class Sam2Segmenter:
    """Click to select with SAM 2.1: clicks and a box → the object's mask on one frame."""

    name = "sam2"

    def __init__(self, folder: str | Path, device: str = "auto") -> None:
        self.folder, self.device = folder, device

    def select(self, image: np.ndarray, prompt: Prompt) -> np.ndarray:
        if not prompt.positive and prompt.box is None:
            raise ValueError("click on the object (or draw a box around it) first")
        sam = load_sam2(self.folder, self.device)
        h, w = image.shape[:2]
        session = sam.session(h, w)
        session.add_point_inputs(session.obj_id_to_idx(1), 0, sam.prompt_inputs(prompt, h, w))
        session.obj_with_new_inputs = [1]
        logits = sam.step(session, 0, image)
        return np.where(sam.full_size(logits, h, w) > 0, 255, 0).astype(np.uint8)
