"""The training run: dataset → cache → LoRA → steps → checkpoints, validation renders → LoRA file.

:class:`Trainer` is used by the runtime's ``train`` job (:mod:`.job`), by ``python -m
model_runtime.training`` (the ``vivid train`` command and ``accelerate launch``) and by the tests. It
reports through a :class:`~model_runtime.engines.base.JobContext`: ``progress`` with the step, ``metrics``
(loss, lr) where the context has it, ``frame_ready(step, png)`` for validation renders, ``log``.

Resume: all randomness of a step is drawn from ``(seed, step, rank)`` and a checkpoint holds the trained
weights, AdamW's state, the LR schedule and the global RNG states, so a run resumed from step *k*
continues with exactly the numbers the uninterrupted run had after step *k*.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from model_runtime.engines.base import JobCancelled, JobContext
from model_runtime.training import checkpoints as ckpt
from model_runtime.training.cache import build_cache
from model_runtime.training.datasets import check_dataset
from model_runtime.training.distributed import World
from model_runtime.training.errors import TrainingError
from model_runtime.training.lora_io import adapter_config, save_lora, write_adapter
from model_runtime.training.loss_log import LossLog
from model_runtime.training.model import (
    ADAPTER_NAME,
    TrainModel,
    attach_lora,
    load_train_model,
    lora_targets,
    train_patch_embed,
)
from model_runtime.training.objective import v_prediction_loss
from model_runtime.training.sampler import Sampler, step_generator
from model_runtime.training.units import units_of
from model_runtime.training.val_loss import ValUnit, prepare_val_loss, validation_loss
from model_runtime.training.validation import prepare_validation, render_validation
from vivid_desktop.datasets import Dataset
from vivid_desktop.protocol.errors import ErrorCode
from vivid_desktop.protocol.jobs import TrainRequest

#: settings that must be equal to resume from a checkpoint (the rest may change between runs)
IDENTITY_FIELDS = (
    "rank",
    "alpha",
    "train_ff",
    "train_patch_embed",
    "seed",
    "height",
    "width",
    "num_frames",
    "batch_size",
    "learning_rate",
    "lr_schedule",
    "warmup_steps",
    "weight_decay",
    "variant",
)
#: what a checkpoint written before a field existed was trained with
LEGACY_IDENTITY = {"variant": "standard"}


@dataclass
class TrainResult:
    lora: Path
    steps: int
    final_loss: float | None
    resumed_from: int | None
    log: Path


def work_dir_of(request: TrainRequest) -> Path:
    return Path(request.work_dir) if request.work_dir else Path(request.output + ".work")


def lr_factor(request: TrainRequest, index: int) -> float:
    """LR multiplier for the ``index``-th optimizer step (0-based): linear warm-up, then the schedule."""
    warm = request.warmup_steps
    if warm and index < warm:
        return (index + 1) / warm
    if request.lr_schedule == "constant":
        return 1.0
    progress = min(1.0, (index - warm) / max(1, request.steps - warm))
    if request.lr_schedule == "linear":
        return 1.0 - progress
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def _metrics(ctx: JobContext, step: int, values: dict[str, float]) -> None:
    emit = getattr(ctx, "metrics", None)  # an addition to JobContext (docs/training.md)
    if callable(emit):
        emit(step, values)


def train_step(net, model, batch, generator, rotary, params, optimizer, schedule, max_grad_norm: float):
    """One optimizer step on one batch: forward (bf16 autocast on bf16 models), backward, clip, update.

    Returns the loss tensor and the learning rate the step used.
    """
    bf16 = model.dtype == torch.bfloat16
    with torch.autocast(model.device.type, torch.bfloat16, enabled=bf16):
        loss = v_prediction_loss(
            net, model.scheduler, batch, generator, rotary, model.pipe.conditioning.channel_order
        )
    loss.backward()
    torch.nn.utils.clip_grad_norm_(list(params.values()), max_grad_norm)
    lr = optimizer.param_groups[0]["lr"]
    optimizer.step()
    schedule.step()
    optimizer.zero_grad(set_to_none=True)
    return loss, lr


class Trainer:
    """One training run (see the module docstring)."""

    def __init__(self, request: TrainRequest, ctx: JobContext, world: World | None = None) -> None:
        self.request = request
        self.ctx = ctx
        self.world = world or World()
        self.work = work_dir_of(request)
        self.cache = Path(request.cache_dir) if request.cache_dir else self.work / "cache"
        self.log = LossLog(Path(request.log) if request.log else self.work / "loss.jsonl")

    # -- set-up ----------------------------------------------------------------------------------------
    def prepare(self) -> tuple[Dataset, TrainModel, Sampler]:
        """Check the dataset, load the model, fill the cache. Raises before anything is trained."""
        r = self.request
        if (r.num_frames - 1) % 4:
            raise TrainingError(
                ErrorCode.BAD_SETTINGS, f"num_frames must be 4k+1 (e.g. 49), not {r.num_frames}"
            )
        dataset = check_dataset(r.data, r.num_frames)
        self.ctx.log(f"dataset: {json.dumps(dataset.summary())}")
        model = load_train_model(r, self.world.device, log=self.ctx.log)
        units = [u for s in dataset.train for u in units_of(s, r.num_frames, r.image_frames_per_clip)]

        def on_unit(done: int, total: int, name: str) -> None:
            self.ctx.check_cancelled()
            self.ctx.progress(0, r.steps, f"encoding {done}/{total}: {name}")

        index, stats = build_cache(
            units,
            self.cache,
            model,
            (r.height, r.width),
            (self.world.rank, self.world.size),
            on_unit,
            kive=r.variant == "kive",
        )
        self.world.barrier()
        self.ctx.log(f"cache: {len(stats.computed)} encoded, {len(stats.reused)} reused")
        self.validation = prepare_validation(dataset.validation, model, (r.height, r.width))
        self.val_units: list[ValUnit] = []
        if r.val_loss_every and self.world.is_main:
            self.val_units = prepare_val_loss(
                dataset.validation, model, (r.height, r.width), r.num_frames, r.variant == "kive", r.seed
            )
            if not self.val_units:
                self.ctx.log("no validation samples to compute val_loss on")
        model.start_training()
        sampler = Sampler(index, r.seed, r.batch_size, r.image_video_ratio, r.deletion_share)
        return dataset, model, sampler

    def identity(self, model: TrainModel) -> dict[str, object]:
        fields = {k: getattr(self.request, k) for k in IDENTITY_FIELDS}
        return {**fields, "base": model.base_fingerprint, "dtype": str(model.dtype), "world": self.world.size}

    # -- the run -----------------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        r = self.request
        dataset, model, sampler = self.prepare()
        torch.manual_seed(r.seed)  # LoRA A's initialisation: the same on every process and every run
        params = attach_lora(model.transformer, r, train_patch_embed(model, r))
        optimizer = torch.optim.AdamW(list(params.values()), lr=r.learning_rate, weight_decay=r.weight_decay)
        schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda i: lr_factor(r, i))
        start, loss_value = self._resume(model, params, optimizer, schedule)
        if self.world.is_main:
            self.log.truncate(start)
        net: torch.nn.Module = model.transformer
        if self.world.size > 1:
            net = torch.nn.parallel.DistributedDataParallel(
                net, device_ids=[self.world.local_rank] if model.device.type == "cuda" else None
            )
        net.train()
        rotary = model.pipe._rotary(r.height, r.width, 1, model.device)
        rotary_video = model.pipe._rotary(r.height, r.width, (r.num_frames - 1) // 4 + 1, model.device)
        saved = start
        step = start
        if start == 0:
            self._val_loss(0, model)  # the base model's value: where the curve starts
        t0 = time.monotonic()
        try:
            for step in range(start + 1, r.steps + 1):
                self._check_stop()
                batch = sampler.batch(step, self.world.rank, model.device, model.dtype)
                loss, lr = train_step(
                    net,
                    model,
                    batch,
                    step_generator(r.seed, step, self.world.rank),
                    rotary if batch.target.shape[1] == 1 else rotary_video,
                    params,
                    optimizer,
                    schedule,
                    r.max_grad_norm,
                )
                loss_value = self.world.mean(loss.detach())
                self._report(step, loss_value, lr, batch.variants, t0, start)
                if step % r.checkpoint_every == 0 or step == r.steps:
                    saved = self._save(step, model, params, optimizer, schedule, loss_value)
                if r.val_loss_every and (step % r.val_loss_every == 0 or step == r.steps):
                    self._val_loss(step, model)
                if r.validate_every and step % r.validate_every == 0:
                    self._validate(step, model)
        except JobCancelled:
            done = step - 1
            if done > saved:
                self._save(done, model, params, optimizer, schedule, loss_value)
            raise
        lora = self._write_lora(model, params, dataset, r.steps)
        return TrainResult(lora, r.steps, loss_value, start or None, self.log.path)

    # -- pieces ------------------------------------------------------------------------------------------
    def _check_stop(self) -> None:
        try:
            self.ctx.check_cancelled()
            stop = False
        except JobCancelled:
            stop = True
        if self.world.any(stop):
            raise JobCancelled("training stopped")

    def _resume(self, model, params, optimizer, schedule) -> tuple[int, float | None]:
        ckpt.remove_stale(self.work)
        latest = ckpt.latest_checkpoint(self.work) if self.request.resume else None
        if latest is None:
            return 0, None
        wanted = self.identity(model)
        found = ckpt.checkpoint_identity(latest)
        changed = sorted(k for k in wanted if found.get(k, LEGACY_IDENTITY.get(k)) != wanted[k])
        if changed:
            raise TrainingError(
                ErrorCode.CHECKPOINT_MISMATCH,
                f"the checkpoint in {self.work} was trained with other settings ({', '.join(changed)}); "
                "use the same settings, another work folder, or start over without resuming",
            )
        state = ckpt.load_checkpoint(latest, params, optimizer)
        schedule.load_state_dict(state.scheduler)
        self.ctx.log(f"resumed from step {state.step} ({latest.name})")
        return state.step, state.metrics.get("loss")

    def _report(self, step: int, loss: float, lr: float, variants: list[str], t0: float, start: int) -> None:
        if not self.world.is_main:
            return
        seconds = (time.monotonic() - t0) / max(1, step - start)
        self.log.append({"step": step, "loss": loss, "lr": lr, "variants": variants, "s_per_step": seconds})
        values = {"loss": loss, "lr": lr}
        _metrics(self.ctx, step, values)
        self.ctx.progress(step, self.request.steps, f"step {step}/{self.request.steps} · loss {loss:.4f}")

    def _save(self, step, model, params, optimizer, schedule, loss) -> int:
        if self.world.is_main:
            state = ckpt.TrainState(step, schedule.state_dict(), self.identity(model), {"loss": loss or 0.0})
            path = ckpt.save_checkpoint(self.work, state, params, optimizer, self.request.keep_checkpoints)
            self.ctx.log(f"checkpoint {path.name}")
        self.world.barrier()
        return step

    def _val_loss(self, step: int, model: TrainModel) -> None:
        """Log the validation loss (``{"step", "val_loss", "samples"}``) and stream it as a metric."""
        if not self.val_units:
            return
        value = validation_loss(model, self.val_units, (self.request.height, self.request.width))
        self.log.append({"step": step, "val_loss": value, "samples": len(self.val_units)})
        _metrics(self.ctx, step, {"val_loss": value})
        self.ctx.log(f"step {step}: val_loss {value:.4f}")

    def _validate(self, step: int, model: TrainModel) -> None:
        if not self.world.is_main or not self.validation:
            return
        r = self.request
        renders = render_validation(
            model,
            self.validation,
            step,
            self.work / "validation",
            r.validation_steps,
            r.validation_guidance,
            r.seed,
        )
        for _item, path, image in renders:
            self.ctx.frame_ready(step, path, image)

    def _write_lora(self, model: TrainModel, params, dataset: Dataset, steps: int) -> Path:
        r = self.request
        out = Path(r.output)
        if self.world.is_main:
            from peft.utils import get_peft_model_state_dict

            alpha = r.alpha if r.alpha is not None else float(r.rank)
            state = get_peft_model_state_dict(model.transformer, adapter_name=ADAPTER_NAME)
            embed = None
            if train_patch_embed(model, r):
                proj = model.transformer.patch_embed.proj
                embed = (
                    {"weight": proj.weight, "bias": proj.bias}
                    if proj.bias is not None
                    else {"weight": proj.weight}
                )
            info: dict[str, Any] = {
                "base_model": model.base_fingerprint,
                "base_path": str(model.model_dir),
                "rank": r.rank,
                "alpha": alpha,
                "steps": steps,
                "targets": lora_targets(r.train_ff),
                "dataset": dataset.summary(),
                "conditioning": model.pipe.conditioning.to_dict(),
                "resolution": [r.height, r.width],
                "num_frames": r.num_frames,
                "variant": r.variant,
            }
            dtype = torch.bfloat16 if model.dtype == torch.bfloat16 else torch.float32
            save_lora(out, state, adapter_config(r.rank, alpha, lora_targets(r.train_ff)), info, embed, dtype)
            if embed is not None:
                write_adapter(out, model.base_dir, info["conditioning"], [r.height, r.width])
            self.ctx.log(f"LoRA written: {out}")
        self.world.barrier()
        return out
