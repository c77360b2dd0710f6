"""The model as the trainer sees it: frozen encoders for the cache, a transformer with LoRA to train.

* Loading is the vivid engine's (local folders, ``.safetensors`` only); a plain CogVideoX base comes
  widened with zero-initialised new input weights, which the trainer then trains fully.
* LoRA (peft, through diffusers' ``add_adapter``) on the attention projections ``to_q, to_k, to_v,
  to_out.0`` of every block, optionally on the feed-forward layers ``ff.net.0.proj, ff.net.2``.
* The widened patch embedding is trained fully when the base lacked it (``train_patch_embed="auto"``).
* Precision: frozen weights in bf16 on CUDA (fp32 on CPU); trained weights always fp32 (autocast
  computes in bf16), so small updates are not rounded away.
"""

from __future__ import annotations

import gc
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from model_runtime.engines.base import EngineError
from model_runtime.training.errors import TrainingError
from model_runtime.training.lora_io import base_fingerprint
from model_runtime.vivid.conditioning import encode_condition
from model_runtime.vivid.parts import patch_projection
from model_runtime.vivid.pipeline import VividPipeline
from vivid_desktop.protocol.errors import ErrorCode
from vivid_desktop.protocol.jobs import TrainRequest

if TYPE_CHECKING:
    from diffusers.models.transformers.cogvideox_transformer_3d import CogVideoXTransformer3DModel

ADAPTER_NAME = "vivid_train"
#: pixels (frames × height × width) the VAE encodes in one call while the cache is filled
ENCODE_PIXELS = 1 << 22
ATTENTION_TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]
FF_TARGETS = ["ff.net.0.proj", "ff.net.2"]


def pick_dtype(precision: str, device: torch.device) -> torch.dtype:
    if precision == "bf16" or (precision == "auto" and device.type == "cuda"):
        return torch.bfloat16
    return torch.float32


@dataclass
class TrainModel:
    """The pipeline's parts, where they live, and how the cache names their outputs."""

    pipe: VividPipeline
    model_dir: Path
    #: the CogVideoX folder under an adapter model (else ``model_dir``): the base an output adapter names
    base_dir: Path
    device: torch.device
    dtype: torch.dtype
    #: the base lacked the mask inputs and the trainer widened its patch embedding
    widened: bool
    base_fingerprint: str
    encoders_fingerprint: str

    @property
    def transformer(self) -> CogVideoXTransformer3DModel:
        return self.pipe.transformer

    @property
    def scheduler(self):
        return self.pipe.scheduler

    # -- Encoders (the cache's view) ---------------------------------------------------------------------
    def _video(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 ``(T, H, W, 3)`` → ``(1, 3, T, H, W)`` in [-1, 1] on the model's device."""
        video = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2)[None].float() / 127.5 - 1.0
        return video.to(self.device, self.dtype)

    @torch.no_grad()
    def encode_target(self, frames: np.ndarray) -> torch.Tensor:
        vae = self.pipe.vae
        latents = vae.encode(self._video(frames)).latent_dist.mode() * float(vae.config.scaling_factor)
        return latents[0].permute(1, 0, 2, 3).to(self.dtype).cpu()

    @torch.no_grad()
    def encode_conditions(self, frames: np.ndarray, masks: list[np.ndarray]) -> list[torch.Tensor]:
        """Conditioning ``(Lf, 1 + C, h, w)`` of one clip under each of several masks.

        Several masks go through the VAE in one batch, up to ~4 M pixels per call (a 49-frame 480×720
        clip goes alone; image units go a dozen at a time).
        """
        t, h, w = masks[0].shape
        chunk = max(1, ENCODE_PIXELS // (t * h * w))
        video = self._video(frames)
        out: list[torch.Tensor] = []
        for i in range(0, len(masks), chunk):
            part = np.stack(masks[i : i + chunk])[:, None]
            mask = torch.from_numpy(part).float().to(self.device) / 255.0
            cond = encode_condition(
                self.pipe.vae, video.expand(len(part), -1, -1, -1, -1), mask, self.pipe.conditioning
            )
            out += [c.to(self.dtype).cpu() for c in cond]
        return out

    @torch.no_grad()
    def encode_text(self, caption: str) -> torch.Tensor:
        encoder = self.pipe.text_encoder
        if encoder is None:
            raise TrainingError(
                ErrorCode.MODEL_INVALID, f"{self.model_dir} has no text encoder to encode captions"
            )
        encoder.to(self.device)  # T5 comes to the GPU only if a caption is not cached yet
        return self.pipe.encode_prompt(caption)[0].to(self.dtype).cpu()

    def start_training(self) -> None:
        """Captions are cached: drop the (large) T5, bring the transformer to the device.

        Until now only the VAE (and T5, when captions needed encoding) sat on the GPU, so filling the cache
        never needs the transformer's memory as well.
        """
        self.pipe.text_encoder = None
        gc.collect()
        self.pipe.transformer.to(self.device)
        if self.device.type == "cuda":
            torch.cuda.empty_cache()


def load_train_model(request: TrainRequest, device: torch.device, log=print) -> TrainModel:
    """Load (widening a plain base), freeze and place the model for training."""
    from model_runtime.vivid.loading import load_model

    dtype = pick_dtype(request.precision, device)
    try:
        loaded = load_model(request.model, dtype=dtype, log=log)
    except EngineError as exc:
        raise TrainingError(exc.code, exc.message) from exc
    pipe = loaded.pipe
    # A plain CogVideoX base comes widened with zero input weights: the trainer must teach it the mask.
    widened = loaded.entry.kind == "base"
    for module in (pipe.text_encoder, pipe.vae, pipe.transformer):
        if module is not None:
            module.requires_grad_(False)
    pipe.vae.to(device)  # the transformer follows after the cache is filled (start_training)
    base_dir = Path(loaded.entry.details.get("base_path") or loaded.entry.path)  # type: ignore[arg-type]
    encoders = json.dumps(
        [
            base_fingerprint(base_dir / "vae"),
            base_fingerprint(base_dir / "text_encoder"),
            loaded.conditioning.to_dict(),
            str(dtype),
            int(pipe.transformer.config.max_text_seq_length),
        ],
        sort_keys=True,
    )
    return TrainModel(
        pipe=pipe,
        model_dir=Path(loaded.entry.path),
        base_dir=base_dir,
        device=device,
        dtype=dtype,
        widened=widened,
        base_fingerprint=base_fingerprint(Path(loaded.entry.path)),
        encoders_fingerprint=hashlib.sha256(encoders.encode()).hexdigest()[:16],
    )


def lora_targets(train_ff: bool) -> list[str]:
    return ATTENTION_TARGETS + (FF_TARGETS if train_ff else [])


def attach_lora(
    transformer: CogVideoXTransformer3DModel, request: TrainRequest, train_embed: bool
) -> dict[str, torch.nn.Parameter]:
    """Add the LoRA adapter (and unfreeze the patch embedding if ``train_embed``); return trained params.

    LoRA B starts at zero (peft's default), so step 0 is the base model exactly.
    """
    from peft import LoraConfig

    alpha = request.alpha if request.alpha is not None else float(request.rank)
    # peft annotates lora_alpha as int, but scales by alpha / r and takes a float (as TrainRequest has it).
    config = LoraConfig(
        r=request.rank,
        lora_alpha=alpha,  # type: ignore[arg-type]
        target_modules=lora_targets(request.train_ff),
    )
    transformer.add_adapter(config, adapter_name=ADAPTER_NAME)
    if train_embed:
        patch_projection(transformer).requires_grad_(True)
    params = {n: p for n, p in transformer.named_parameters() if p.requires_grad}
    for p in params.values():
        p.data = p.data.float()  # master weights in fp32 even when the frozen model is bf16
    if request.gradient_checkpointing:
        transformer.enable_gradient_checkpointing()
    return params


def train_patch_embed(model: TrainModel, request: TrainRequest) -> bool:
    if request.train_patch_embed == "auto":
        return model.widened
    return request.train_patch_embed == "always"
