"""A loaded VIVID model ready to run jobs: settings applied, captions cached, OOM ladder around each pass."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from model_runtime.engines.base import EngineError
from model_runtime.vivid import speed
from model_runtime.vivid.frames import mask_tensor, to_uint8, video_tensor
from model_runtime.vivid.loading import LoadedModel, load_model
from model_runtime.vivid.lora import apply_loras, parse_loras
from model_runtime.vivid.memory import apply_memory_mode, frozen, run_with_ladder
from model_runtime.vivid.pipeline import SCHEDULERS
from model_runtime.vivid.preview import LatentPreview
from model_runtime.vivid.settings import DEFAULT_RESOLUTION, VividSettings
from vivid_desktop.protocol.errors import ErrorCode
from vivid_desktop.protocol.jobs import DELETE_CAPTION

Log = Callable[[str], None]
#: on_step(step, total, preview) — the engine reports progress and raises from here to cancel.
OnStep = Callable[[int, int, np.ndarray | None], None]
#: on_chunk(first_frame_in_pass, frames) — decoded uint8 frames at model resolution.
OnChunk = Callable[[int, list[np.ndarray]], None]

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
#: Prompt embeddings kept between jobs (each T5-XXL one is a few MB); the oldest go first.
MAX_CACHED_EMBEDDINGS = 16


def pick_device(name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise EngineError(
            ErrorCode.NO_GPU, "settings ask for CUDA, but no CUDA GPU is available to the runtime"
        )
    return name


def pick_dtype(name: str, device: str) -> torch.dtype:
    if name == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return _DTYPES[name]


def runner_key(settings: VividSettings) -> tuple[object, ...]:
    """What a loaded model depends on: reload when it changes (fp8 rewrites the weights)."""
    device = pick_device(settings.device)
    quantize = settings.quantize
    if settings.preset == "fast" and quantize == "none" and speed.fp8_supported(device):
        quantize = "fp8"
    return (settings.model, device, pick_dtype(settings.dtype, device), quantize)


def caption_for(task: str, caption: str) -> str:
    """The paper's fixed caption for deletion; the user's local caption otherwise."""
    return DELETE_CAPTION if task == "delete" else caption


class Runner:
    """One loaded model on one device; reused across jobs with the same model, device and dtype."""

    def __init__(self, settings: VividSettings, log: Log) -> None:
        self.device = pick_device(settings.device)
        self.dtype = pick_dtype(settings.dtype, self.device)
        self.key = runner_key(settings)
        self.loaded: LoadedModel = load_model(
            settings.model, dtype=self.dtype, scheduler=settings.scheduler, log=log
        )
        self.pipe = self.loaded.pipe
        if self.key[3] == "fp8":
            speed.quantize_fp8(self.pipe.transformer, self.device)
            log("transformer quantized to fp8 (torchao)")
        self._speed: tuple[object, ...] = ()
        self.pipe.set_progress_bar_config(disable=True)
        self.mode: str | None = None
        self.compiled = False
        self._embeds: dict[str, torch.Tensor] = {}
        self._preview: LatentPreview | None = None

    # -- per job ------------------------------------------------------------------------------------
    def prepare(self, settings: VividSettings, log: Log) -> None:
        """Apply a job's settings: conditioning, scheduler, LoRAs, memory mode, compile."""
        pipe = self.pipe
        pipe.conditioning = self.loaded.conditioning.merged(settings.conditioning)
        if settings.scheduler and not isinstance(pipe.scheduler, SCHEDULERS[settings.scheduler]):
            pipe.scheduler = SCHEDULERS[settings.scheduler].from_config(pipe.scheduler.config)
        loras = self.loaded.loras + parse_loras(settings.loras)
        apply_loras(pipe, loras, log)
        # "auto" starts on the GPU and stays at a level an earlier out-of-memory stepped down to.
        wanted = (self.mode or "gpu") if settings.memory == "auto" else settings.memory
        if self.mode != wanted:
            apply_memory_mode(pipe, wanted, self.device)
            self.mode = wanted
        self._apply_speed(settings, log)

    def _apply_speed(self, settings: VividSettings, log: Log) -> None:
        """Attention kernel, step cache, regional compile (model_runtime/vivid/speed.py)."""
        cache = settings.cache if settings.preset == "exact" or settings.cache != "none" else "first_block"
        wanted = (settings.attention, cache, settings.cache_threshold)
        if wanted != self._speed:
            used = speed.set_attention(self.pipe.transformer, settings.attention, self.device, log)
            cached = speed.apply_cache(self.pipe.transformer, cache, settings.cache_threshold)
            self._speed = wanted
            log(f"attention {used}, step cache {cache if cached else 'none'}")
        if settings.compile and not self.compiled:
            speed.compile_blocks(self.pipe.transformer)
            self.compiled = True

    def resolution(self, settings: VividSettings) -> tuple[int, int]:
        return settings.resolution or self.loaded.resolution or DEFAULT_RESOLUTION

    def embeddings(self, caption: str, negative: str) -> tuple[torch.Tensor, torch.Tensor]:
        for text in (caption, negative):
            if text not in self._embeds:
                self._embeds[text] = self.pipe.encode_prompt(text).cpu()
        # a long session tries many captions: bound the cache, keeping the two just used
        for old in [t for t in self._embeds if t not in (caption, negative)][:-MAX_CACHED_EMBEDDINGS]:
            del self._embeds[old]
        dev = self.pipe._execution_device
        return self._embeds[caption].to(dev), self._embeds[negative].to(dev)

    def preview(self, latents: torch.Tensor) -> np.ndarray:
        if self._preview is None:
            own = Path(self.loaded.entry.path) / "latent_rgb.json"
            if own.is_file():
                self._preview = LatentPreview.from_file(own)
            else:
                self._preview = LatentPreview.fit(self.pipe.vae, device=self.pipe._execution_device)
        return self._preview(latents)

    # -- one model pass -----------------------------------------------------------------------------
    def generate(
        self,
        frames: list[np.ndarray],
        masks: list[np.ndarray],
        *,
        caption: str,
        seed: int,
        settings: VividSettings,
        on_step: OnStep,
        on_chunk: OnChunk,
        on_retry: Callable[[], None],
        log: Log,
    ) -> str:
        """Denoise and decode one pass (1 frame = image mode, 8k+1 = video mode); returns the memory mode.

        On out-of-memory it calls ``on_retry()`` (the caller removes what it wrote), steps down the memory
        ladder and runs the pass again from the start.
        """
        video, mask = video_tensor(frames), mask_tensor(masks)

        def attempt(mode: str) -> None:
            pe, ne = self.embeddings(caption, settings.negative_prompt)
            gen = torch.Generator("cpu").manual_seed(seed)
            cond_gen = torch.Generator("cpu").manual_seed(seed + 1)
            cond = self.pipe.condition(video, mask, cond_gen)

            def step(i: int, total: int, latents: torch.Tensor) -> None:
                on_step(i, total, self.preview(latents))

            latents = self.pipe.denoise(
                cond,
                pe,
                ne,
                num_frames=len(frames),
                height=video.shape[3],
                width=video.shape[4],
                steps=settings.steps,
                guidance=settings.guidance,
                generator=gen,
                use_dynamic_cfg=settings.dynamic_cfg,
                on_step=step,
            )
            try:
                for first, chunk in self.pipe.decode_chunks(latents):
                    on_chunk(first, to_uint8(chunk))
            finally:
                # with model offload, put the last component back on the CPU after each pass (as diffusers'
                # pipelines do at the end of __call__), so the next job starts from the same state
                self.pipe.maybe_free_model_hooks()

        def step_down(old: str, new: str) -> None:
            on_retry()
            log(f"out of GPU memory in mode {old}; retrying in mode {new}")
            self.mode = new

        _, used = run_with_ladder(attempt, self.mode or "gpu", self._apply, step_down)
        return used

    def _apply(self, mode: str) -> None:
        apply_memory_mode(self.pipe, mode, self.device)
        self.mode = mode

    @staticmethod
    def check_frozen(outputs: list[np.ndarray], masks: list[np.ndarray], sources: list[np.ndarray]) -> bool:
        return frozen(outputs, masks, sources)
