"""A tiny, seeded, randomly initialised SAM 2.1 folder in transformers' format (tests, demos, bug reports).

Same layout as a real one (``config.json`` + ``model.safetensors``), 64×64 input, about 2 M weights: it
loads and runs like the real model in well under a second per frame on a CPU. Its masks mean nothing.
Sizes that the port fixes: memory features are 64 wide (``kv_in_dim``), and the hidden size is a
multiple of them, as in the real models (256 / 64).
"""

from __future__ import annotations

from pathlib import Path

TINY_SIZE = 64


def tiny_sam2_config(size: int = TINY_SIZE):
    """A ``Sam2VideoConfig`` of a 4-stage Hiera with 1–2 blocks per stage and 128-wide heads."""
    from transformers import Sam2HieraDetConfig, Sam2VideoConfig, Sam2VisionConfig

    backbone = Sam2HieraDetConfig(
        hidden_size=12,
        image_size=size,
        blocks_per_stage=[1, 2, 2, 1],
        embed_dim_per_stage=[12, 24, 48, 96],
        num_attention_heads_per_stage=[1, 1, 1, 1],
        window_size_per_stage=[4, 4, 2, 2],
        global_attention_blocks=[2, 4],  # never a stage's first block (it pools its queries)
        window_positional_embedding_background_size=[2, 2],
    )
    strides = (4, 8, 16)
    vision = Sam2VisionConfig(
        backbone_config=backbone,
        backbone_channel_list=[96, 48, 24, 12],
        backbone_feature_sizes=[[size // s, size // s] for s in strides],
        fpn_hidden_size=128,
    )
    return Sam2VideoConfig(
        vision_config=vision,
        prompt_encoder_config={
            "hidden_size": 128,
            "image_size": size,
            "patch_size": 16,
            "mask_input_channels": 8,
        },
        mask_decoder_config={
            "hidden_size": 128,
            "mlp_dim": 64,
            "num_attention_heads": 4,
            "iou_head_hidden_dim": 32,
        },
        image_size=size,
        num_maskmem=3,
        max_object_pointers_in_encoder=4,
        memory_attention_hidden_size=128,
        memory_attention_num_layers=1,
        memory_attention_feed_forward_hidden_size=64,
        memory_attention_rope_feat_sizes=[size // 16, size // 16],
        memory_encoder_hidden_size=128,
        memory_encoder_output_channels=64,
        mask_downsampler_embed_dim=128,
        memory_fuser_embed_dim=128,
        memory_fuser_intermediate_dim=64,
    )


def write_tiny_sam2(folder: str | Path, seed: int = 0, size: int = TINY_SIZE) -> Path:
    """Write a tiny seeded SAM 2.1 model into ``folder`` (safetensors only) and return its path."""
    import torch
    from transformers import Sam2VideoModel

    torch.manual_seed(seed)
    model = Sam2VideoModel(tiny_sam2_config(size)).eval()
    out = Path(folder)
    model.save_pretrained(out, safe_serialization=True)
    return out
