"""Every window length the planner emits decodes to the right frames through the real VAE code path.

A random tiny VAE cannot reconstruct its input, so "which source frame is output frame j" is read from
causality: the CogVideoX VAE is causal in time (left-padded convolutions, a conv cache carried from chunk
to chunk) and mixes frames only inside one chunk (its group norms). So changing source frame ``f`` must
leave every output frame before ``f``'s chunk untouched and change the chunk from its first frame on. If
a window decoded to doubled frames (an even latent count), the frame count and the chunk starts would
both be off. The frames are numbered (each carries its index as a grey level) so a failure names them.
"""

from __future__ import annotations

import pytest
import torch

from model_runtime.vivid.pipeline import VividPipeline, decode_bounds
from model_runtime.vivid.tiny import tiny_components
from vivid_desktop.protocol.windows import plan_windows

SIZE = 8  # one latent cell: the temporal structure does not depend on the frame size


def planner_lengths() -> list[int]:
    """Every model length the planner emits (default window), over ranges and keyframe layouts."""
    found = set()
    for n in range(1, 100):
        for keys in ((), (n // 2,), (n - 1,)):
            found |= {w.model_length for w in plan_windows(0, n, keys)}
    return sorted(found)


def chunk_start(frame: int) -> int:
    """First pixel frame of the VAE chunk that holds ``frame`` (encoder: 9 frames, then 8 at a time)."""
    return 0 if frame <= 8 else 8 * ((frame - 1) // 8) + 1


@pytest.fixture(scope="module")
def pipe() -> VividPipeline:
    return VividPipeline(**tiny_components(0).as_dict())


def numbered(length: int) -> torch.Tensor:
    """``(1, 3, L, S, S)`` frames in [-1, 1]; frame f is grey level f/L with a fixed texture."""
    texture = torch.linspace(-0.3, 0.3, SIZE * SIZE).reshape(1, SIZE, SIZE)
    levels = torch.arange(length, dtype=torch.float32) / max(length, 1) - 0.5
    return (levels[None, :, None, None] + texture[:, None]).expand(3, -1, -1, -1)[None].contiguous()


def test_the_planner_emits_only_odd_latent_counts():
    assert planner_lengths() == [1, 9, 17, 25, 33, 41, 49]
    with pytest.raises(ValueError, match="doubled"):
        decode_bounds(4)


@pytest.mark.parametrize("length", planner_lengths())
def test_each_output_frame_comes_from_its_source_frame(pipe, length):
    vae = pipe.vae
    base = numbered(length)
    probes = sorted({0, *(f for m in range(1, 7) for f in (8 * m, 8 * m + 1) if f < length)})
    batch = base.repeat(1 + len(probes), 1, 1, 1, 1)
    for i, f in enumerate(probes, start=1):
        batch[i, :, f] = -batch[i, :, f]  # change one numbered frame per sample
    with torch.no_grad():
        latents = vae.encode(batch).latent_dist.mode() * float(vae.config.scaling_factor)
        chunks = list(pipe.decode_chunks(latents.permute(0, 2, 1, 3, 4), first_alone=False))
    out = torch.cat([c for _, c in chunks], dim=2)
    assert out.shape[2] == length  # no doubled frames, nothing missing
    assert [first for first, _ in chunks] == [0] + [9 + 8 * i for i in range(len(chunks) - 1)]
    for i, f in enumerate(probes, start=1):
        changed = (out[i] - out[0]).abs().amax(dim=(0, 2, 3)) > 1e-6
        first = int(changed.nonzero()[0]) if changed.any() else None
        assert first == chunk_start(f), f"source frame {f}: output changes from frame {first}"
        assert bool(changed[f]), f"output frame {f} does not depend on source frame {f}"


def test_fun_decode_keeps_latent_frame_0_alone(pipe):
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(1, 5, pipe.vae.config.latent_channels, 1, 1, generator=gen).repeat(2, 1, 1, 1, 1)
    z[1, 1] += 1.0  # change latent frame 1 only
    with torch.no_grad():
        ours = torch.cat([c for _, c in pipe.decode_chunks(z, first_alone=False)], dim=2)
        fun = torch.cat([c for _, c in pipe.decode_chunks(z, first_alone=True)], dim=2)
    assert ours.shape[2] == fun.shape[2] == 17
    assert decode_bounds(5, first_alone=True) == [(0, 1), (1, 3), (3, 5)]
    # diffusers groups latents 0–2, so frame 0 feels latent 1; Fun's VAE decodes frame 0 on its own
    assert (ours[1, :, 0] - ours[0, :, 0]).abs().max() > 1e-6
    assert torch.equal(fun[1, :, 0], fun[0, :, 0])
    assert (fun[1, :, 1] - fun[0, :, 1]).abs().max() > 1e-6
