"""Cheap latent previews: a fixed latent→RGB projection, no VAE decode per step.

CogVideoX's VAE publishes no latent→RGB factors, so each model gets its own fixed C×3 matrix (+ bias)
fitted once, at first use, by least squares on a seeded patchwork of colours encoded by that model's
VAE. A model folder may ship its own as ``latent_rgb.json`` (``{"matrix": C×3, "bias": 3}``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

PATCH = 8  # pixels per latent cell (the VAE's spatial factor); colour blocks are one cell wide


class LatentPreview:
    """Turn latents ``(1, Lf, C, h, w)`` into a small uint8 RGB image."""

    def __init__(self, matrix: np.ndarray, bias: np.ndarray, min_side: int = 64) -> None:
        self.matrix = np.asarray(matrix, np.float32)
        self.bias = np.asarray(bias, np.float32)
        self.min_side = min_side

    @classmethod
    def from_file(cls, path: Path) -> LatentPreview:
        data = json.loads(path.read_text())
        return cls(np.array(data["matrix"]), np.array(data["bias"]))

    @classmethod
    @torch.no_grad()
    def fit(cls, vae, seed: int = 0, cells: int = 16, device=None) -> LatentPreview:
        """Fit the projection on a seeded patchwork of solid colours (one encode, one frame)."""
        rng = np.random.default_rng(seed)
        colours = rng.uniform(-1, 1, (cells, cells, 3)).astype(np.float32)
        image = np.kron(colours, np.ones((PATCH, PATCH, 1), np.float32))  # (cells*8, cells*8, 3)
        device = device if device is not None else next(vae.parameters()).device
        x = torch.from_numpy(image).permute(2, 0, 1)[None, :, None].to(device, vae.dtype)
        lat = vae.encode(x).latent_dist.mode()[0, :, 0] * float(vae.config.scaling_factor)  # (C, h, w)
        lat = lat.float().cpu().numpy()
        c, h, w = lat.shape
        target = colours[:h, :w].reshape(-1, 3)
        feats = np.concatenate([lat.reshape(c, -1).T, np.ones((h * w, 1), np.float32)], axis=1)
        sol, *_ = np.linalg.lstsq(feats, target, rcond=None)
        return cls(sol[:c], sol[c])

    def __call__(self, latents: torch.Tensor) -> np.ndarray:
        """RGB preview of the middle latent frame."""
        frame = latents[0, latents.shape[1] // 2].float().cpu().numpy()  # (C, h, w)
        rgb = np.tensordot(frame, self.matrix, axes=([0], [0])) + self.bias  # (h, w, 3) in [-1, 1]
        img = np.clip((rgb + 1.0) * 127.5, 0, 255).astype(np.uint8)
        factor = max(1, -(-self.min_side // min(img.shape[:2])))
        return np.repeat(np.repeat(img, factor, axis=0), factor, axis=1) if factor > 1 else img
