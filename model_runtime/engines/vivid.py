"""The ``vivid`` engine: the VIVID diffusion model (CogVideoX + mask conditioning) with KIVE windows.

This module stays light: ``info()`` only checks that the model libraries can be imported and lists the
models it can see on disk; torch and diffusers are imported when a job runs. The model stays loaded
between jobs (one model at a time) and is replaced when a job names another model, device or dtype.
Job settings: :mod:`model_runtime.vivid.settings`; the method and its choices: docs/vivid.md.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from model_runtime.engines.base import Engine, EngineError, EngineInfo, JobContext
from vivid_desktop.protocol.errors import ErrorCode
from vivid_desktop.system.extras import install_hint

if TYPE_CHECKING:
    from model_runtime.vivid.runner import Runner
    from model_runtime.vivid.settings import VividSettings
    from vivid_desktop.protocol.jobs import EditKeyframeRequest, RenderPlan

REQUIRED = ("torch", "diffusers", "transformers", "peft", "safetensors", "accelerate")


class VividEngine(Engine):
    """Diffusion editing: image mode for keyframe previews, video mode windows for propagation."""

    name = "vivid"

    def __init__(self, model_dirs: list[str] | None = None) -> None:
        self.model_dirs = list(model_dirs or [])
        self._runner: Runner | None = None

    @staticmethod
    def _missing() -> str:
        missing = [m for m in REQUIRED if importlib.util.find_spec(m) is None]
        if not missing:
            return ""
        return f"model libraries not installed: {', '.join(missing)}; {install_hint('model')}"

    def info(self) -> EngineInfo:
        if reason := self._missing():
            return EngineInfo(self.name, False, reason)
        from model_runtime.vivid import discovery

        try:
            models = discovery.discover(self.model_dirs + discovery.model_dirs_from_env())
        except OSError:
            models = []
        return EngineInfo(
            self.name,
            True,
            details={
                "models": [m.to_dict() for m in models],
                "memory_modes": ["auto", "gpu", "model_offload", "vae_tiling", "sequential_offload"],
                "image_mode": True,
            },
        )

    # -- jobs ---------------------------------------------------------------------------------------
    def edit_keyframe(self, request: EditKeyframeRequest, ctx: JobContext) -> Path:
        from model_runtime.vivid import render

        settings = self._settings(request.settings)
        runner = self._ready(settings, ctx)
        return render.edit_keyframe(runner, settings, request, ctx)

    def propagate(self, plan: RenderPlan, ctx: JobContext) -> None:
        from model_runtime.vivid import render

        settings = self._settings(plan.settings)
        runner = self._ready(settings, ctx)
        render.Propagation(runner, settings, plan, ctx).run()

    def unload(self) -> None:
        """Drop the loaded model (frees its memory)."""
        self._runner = None
        try:
            from model_runtime.vivid.memory import free_memory
        except ImportError:
            return
        free_memory()

    # -- helpers ------------------------------------------------------------------------------------
    def _settings(self, raw: dict[str, object]) -> VividSettings:
        from model_runtime.vivid.settings import VividSettings

        return VividSettings.from_dict(raw)

    def _ready(self, settings: VividSettings, ctx: JobContext) -> Runner:
        """The runner for these settings: reuse the loaded model, or load (replacing the old one)."""
        if reason := self._missing():
            raise EngineError(ErrorCode.ENGINE_UNAVAILABLE, reason)
        from model_runtime.vivid.runner import Runner, runner_key

        key = runner_key(settings)
        device = key[1]
        if self._runner is None or self._runner.key != key:
            self.unload()
            ctx.progress(0, 1, f"loading model {Path(settings.model).name}")
            self._runner = Runner(settings, ctx.log)
            ctx.log(f"model {self._runner.loaded.entry.name} ({self._runner.loaded.entry.kind}) on {device}")
        self._runner.prepare(settings, ctx.log)
        return self._runner
