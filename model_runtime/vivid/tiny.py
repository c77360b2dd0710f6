"""Tiny seeded VIVID models built in code: for tests, demos and bug reports (no hub, no downloads).

The shapes follow diffusers' own CogVideoX tests (1 layer, 8-channel VAE blocks, a 32-wide T5) but keep
the 5B model's structure: rotary position embeddings, v-prediction, a 4× temporal / 8× spatial VAE,
and the widened input (``2 × latent_channels + 1``). ``write_tiny_model`` saves it in our own folder
format (:mod:`model_runtime.vivid.loading`), so the real loading path is what tests exercise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from model_runtime.vivid.conditioning import ConditioningConfig, widen_patch_embedding
from model_runtime.vivid.parts import config, patch_projection

if TYPE_CHECKING:
    from diffusers.models.autoencoders.autoencoder_kl_cogvideox import AutoencoderKLCogVideoX
    from diffusers.models.transformers.cogvideox_transformer_3d import CogVideoXTransformer3DModel
    from diffusers.schedulers.scheduling_dpm_cogvideox import CogVideoXDPMScheduler
    from transformers.models.t5.modeling_t5 import T5EncoderModel

#: CogVideoX-5B's scheduler configuration (v-prediction, zero-SNR, trailing spacing).
SCHEDULER_CONFIG: dict[str, object] = {
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "beta_start": 0.00085,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "prediction_type": "v_prediction",
    "rescale_betas_zero_snr": True,
    "set_alpha_to_one": True,
    "snr_shift_scale": 1.0,
    "steps_offset": 0,
    "timestep_spacing": "trailing",
}

TEXT_DIM = 32
MAX_TEXT_LEN = 16


@dataclass
class TinyComponents:
    """The five parts of a CogVideoX pipeline, tiny and seeded."""

    tokenizer: object
    text_encoder: T5EncoderModel
    vae: AutoencoderKLCogVideoX
    transformer: CogVideoXTransformer3DModel
    scheduler: CogVideoXDPMScheduler

    def as_dict(self) -> dict[str, Any]:
        return dict(
            tokenizer=self.tokenizer,
            text_encoder=self.text_encoder,
            vae=self.vae,
            transformer=self.transformer,
            scheduler=self.scheduler,
        )


def tiny_tokenizer(max_length: int = MAX_TEXT_LEN):
    """A byte-level tokenizer built locally (every caption maps to tokens; ``</s>`` appended like T5)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for ch in sorted(pre_tokenizers.ByteLevel.alphabet()):
        vocab[ch] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=max_length,
    )


def tiny_components(
    seed: int = 0,
    latent_channels: int = 4,
    widened: bool = True,
    sample_size: int = 32,
    num_layers: int = 1,
) -> TinyComponents:
    """Build tiny seeded components. ``widened=False`` gives the plain text-to-video transformer."""
    from diffusers.models.autoencoders.autoencoder_kl_cogvideox import AutoencoderKLCogVideoX
    from diffusers.models.transformers.cogvideox_transformer_3d import CogVideoXTransformer3DModel
    from diffusers.schedulers.scheduling_dpm_cogvideox import CogVideoXDPMScheduler
    from transformers import T5Config, T5EncoderModel

    tokenizer = tiny_tokenizer()
    torch.manual_seed(seed)
    text_encoder = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer),
            d_model=TEXT_DIM,
            d_kv=8,
            d_ff=37,
            num_layers=1,
            num_heads=4,
            relative_attention_num_buckets=8,
            pad_token_id=0,
            eos_token_id=1,
        )
    ).eval()
    torch.manual_seed(seed + 1)
    vae = AutoencoderKLCogVideoX(
        block_out_channels=(8, 8, 8, 8),
        latent_channels=latent_channels,
        layers_per_block=1,
        norm_num_groups=2,
        temporal_compression_ratio=4,
        sample_height=sample_size,
        sample_width=sample_size,
        scaling_factor=0.7,
    ).eval()
    torch.manual_seed(seed + 2)
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=2,
        attention_head_dim=16,
        in_channels=latent_channels,
        out_channels=latent_channels,
        time_embed_dim=8,
        text_embed_dim=TEXT_DIM,
        num_layers=num_layers,
        sample_width=sample_size // 8,
        sample_height=sample_size // 8,
        sample_frames=9,
        patch_size=2,
        temporal_compression_ratio=4,
        max_text_seq_length=MAX_TEXT_LEN,
        use_rotary_positional_embeddings=True,
        use_learned_positional_embeddings=False,
    ).eval()
    if widened:
        transformer = widen_patch_embedding(transformer, 2 * latent_channels + 1)
    scheduler = CogVideoXDPMScheduler(**SCHEDULER_CONFIG)
    return TinyComponents(tokenizer, text_encoder, vae, transformer, scheduler)


def randomize_new_inputs(transformer: torch.nn.Module, seed: int, latent_channels: int) -> None:
    """Give the widened input weights small random values (a stand-in for a trained checkpoint)."""
    gen = torch.Generator().manual_seed(seed + 3)
    weight = patch_projection(transformer).weight
    with torch.no_grad():
        view = weight.view(weight.shape[0], config(transformer).in_channels, -1)
        extra = view[:, latent_channels:]
        extra.copy_(torch.randn(extra.shape, generator=gen) * 0.2)


def write_tiny_model(path: str | Path, seed: int = 0, trained_inputs: bool = True) -> Path:
    """Write a tiny seeded checkpoint in our folder format and return the folder.

    ``trained_inputs`` gives the widened input weights small random values so that the mask and the
    masked video change the output, as they would in a trained checkpoint.
    """
    from diffusers.pipelines.cogvideo.pipeline_cogvideox import CogVideoXPipeline

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    parts = tiny_components(seed)
    channels = config(parts.vae).latent_channels
    if trained_inputs:
        randomize_new_inputs(parts.transformer, seed, channels)
    CogVideoXPipeline(**parts.as_dict()).save_pretrained(out, safe_serialization=True)
    meta = {
        "format": "vivid",
        "version": 1,
        "name": f"vivid-tiny-seed{seed}",
        "tiny": True,
        "resolution": [32, 32],
        "conditioning": ConditioningConfig().to_dict(),
    }
    (out / "vivid.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out


def write_tiny_lora(path: str | Path, seed: int = 0, rank: int = 4) -> Path:
    """Write a seeded LoRA for the tiny transformer in the diffusers/peft format; returns the file."""
    from diffusers.pipelines.cogvideo.pipeline_cogvideox import CogVideoXPipeline
    from peft import LoraConfig, get_peft_model_state_dict

    from model_runtime.vivid.lora import DEFAULT_FILE, DEFAULT_TARGETS

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    transformer = tiny_components(0).transformer
    torch.manual_seed(seed + 100)
    config = LoraConfig(
        r=rank, lora_alpha=rank, target_modules=list(DEFAULT_TARGETS), init_lora_weights=False
    )
    transformer.add_adapter(config)
    layers = get_peft_model_state_dict(transformer)
    CogVideoXPipeline.save_lora_weights(out, transformer_lora_layers=layers, safe_serialization=True)
    return out / DEFAULT_FILE


def write_tiny_adapter(path: str | Path, seed: int = 0) -> Path:
    """Write layout (b): a plain tiny CogVideoX base, our widened patch embedding, a LoRA, the JSON."""
    from diffusers.pipelines.cogvideo.pipeline_cogvideox import CogVideoXPipeline
    from safetensors.torch import save_file

    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    base = tiny_components(seed, widened=False)
    CogVideoXPipeline(**base.as_dict()).save_pretrained(out / "base", safe_serialization=True)
    wide = tiny_components(seed).transformer
    randomize_new_inputs(wide, seed, config(base.vae).latent_channels)
    proj = patch_projection(wide)
    assert proj.bias is not None  # the tiny model's projection has one
    save_file(
        {
            "patch_embed.proj.weight": proj.weight.detach().contiguous(),
            "patch_embed.proj.bias": proj.bias.detach(),
        },
        str(out / "patch_embed.safetensors"),
    )
    lora = write_tiny_lora(out / "lora", seed)
    meta = {
        "format": "vivid-adapter",
        "version": 1,
        "name": f"vivid-tiny-adapter-seed{seed}",
        "base": "base",
        "patch_embed": "patch_embed.safetensors",
        "loras": [{"path": str(lora.relative_to(out)), "weight": 1.0}],
        "resolution": [32, 32],
        "conditioning": ConditioningConfig().to_dict(),
    }
    (out / "vivid_adapter.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out
