"""Application settings remembered between runs (QSettings in an INI file in ``config_dir()``).

The user folders themselves are defined in ``vivid_desktop.system.folders`` (shared with the doctor).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from PySide6.QtCore import QSettings

from vivid_desktop.system.folders import APP, config_dir, data_dir  # noqa: F401  (their home is system)

MEMORY_MODES = ("auto", "gpu", "model_offload", "vae_tiling", "sequential_offload")
MEMORY_MODE_LABELS = {
    "auto": "Automatic (start on the GPU, step down on out-of-memory)",
    "gpu": "Everything on the GPU (fastest)",
    "model_offload": "Model CPU offload",
    "vae_tiling": "Model offload + VAE tiling",
    "sequential_offload": "Sequential offload (least memory)",
}
ENGINES = ("flow", "vivid")


class AppSettings:
    """Typed access to the remembered settings."""

    DEFAULTS: ClassVar[dict[str, Any]] = {
        "models/folders": [],
        "models/loras": [],
        "models/memory_mode": "auto",
        "engine/default": "flow",
        "proxy/enabled": True,
        "proxy/lines": 540,
        "view/overlay_color": "#2fb8ff",
        "view/overlay_opacity": 0.45,
        "view/latent_preview": True,
        "view/muted": False,
        "recent/files": [],
        "export/last_folder": "",
        "export/preset": "h264",
        "external/image_editor": "",
        "render/confirm_plan": True,
        "render/cluster": "local",
    }

    def __init__(self, path: Path | None = None) -> None:
        path = path or config_dir() / "settings.ini"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.qsettings = QSettings(str(path), QSettings.Format.IniFormat)

    def get(self, key: str) -> Any:
        default = self.DEFAULTS.get(key)
        value = self.qsettings.value(key, default)
        if isinstance(default, bool):
            return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
        if isinstance(default, int):
            try:
                return int(value)  # type: ignore[call-overload]  # QSettings gives str or int
            except (TypeError, ValueError):
                return default
        if isinstance(default, float):
            try:
                return float(value)  # type: ignore[arg-type]  # QSettings gives str or float
            except (TypeError, ValueError):
                return default
        if isinstance(default, list):
            if value in (None, ""):
                return []
            return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
        return value

    def set(self, key: str, value: Any) -> None:
        self.qsettings.setValue(key, value)

    def sync(self) -> None:
        self.qsettings.sync()

    # ---- conveniences ---------------------------------------------------------------------------
    def add_recent(self, path: str | Path, limit: int = 10) -> None:
        path = str(Path(path).absolute())
        recent = [p for p in self.get("recent/files") if p != path]
        self.set("recent/files", [path, *recent][:limit])

    def recent(self) -> list[str]:
        return [p for p in self.get("recent/files") if Path(p).exists()]

    def geometry(self) -> bytes | None:
        value = self.qsettings.value("window/geometry")
        return bytes(value) if value is not None else None
