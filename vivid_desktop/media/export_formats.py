"""Export formats and quality presets: which container, codec, pixel format and options each one uses.

A format is chosen by name or from the output path (``.mp4`` → H.264, ``.mov`` → ProRes, ``.mkv`` → FFV1,
a folder → PNG sequence). Frames arrive as RGB (H, W, 3), grey (H, W) or RGBA (H, W, 4) uint8 arrays;
:func:`pixel_format` says what each format stores for each of them.

Quality presets trade speed for size; the defaults were measured on a 2-core machine (see
``benchmarks/export_fps.py``): ``standard`` H.264 (x264 ``veryfast``, CRF 18) encodes 1080p at ≥ 30 fps
and is visually transparent on typical footage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vivid_desktop.media.errors import MediaError

QUALITY_PRESETS = ("draft", "standard", "high")

#: Audio codecs each container takes as they are (stream copy); anything else is re-encoded.
_MP4_AUDIO = frozenset({"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"})
_MOV_AUDIO = frozenset(
    {"aac", "mp3", "ac3", "eac3", "alac", "pcm_s16le", "pcm_s24le", "pcm_s16be", "pcm_s24be"}
)
_MKV_AUDIO = frozenset(
    {"aac", "mp3", "ac3", "eac3", "opus", "vorbis", "flac", "alac", "pcm_s16le", "pcm_s24le", "pcm_f32le"}
)


@dataclass(frozen=True)
class ExportFormat:
    """One output format: how frames and audio are stored."""

    name: str
    label: str
    #: the file suffix it implies; "" for a folder of images
    suffix: str
    #: FFmpeg muxer name; None for a PNG folder
    container: str | None
    #: FFmpeg encoder name; None for a PNG folder (written with OpenCV)
    codec: str | None
    #: whether the codec needs an even width / height (4:2:0 chroma); odd sizes are padded, never scaled
    even_size: bool = False
    #: audio codecs stream-copied into this container
    audio_copy: frozenset[str] = field(default_factory=frozenset)
    #: the codec audio is re-encoded to when it cannot be copied; None = the format carries no audio
    audio_codec: str | None = None
    #: a container that cannot store negative timestamps (AAC priming packets are dropped instead)
    negative_ts: bool = True
    #: the four-character code players expect (Apple players want hvc1 for HEVC in MP4)
    codec_tag: str | None = None

    @property
    def is_sequence(self) -> bool:
        return self.container is None


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("h264", "H.264 MP4", ".mp4", "mp4", "libx264", True, _MP4_AUDIO, "aac"),
        ExportFormat(
            "h265", "H.265 MP4", ".mp4", "mp4", "libx265", True, _MP4_AUDIO, "aac", codec_tag="hvc1"
        ),
        ExportFormat(
            "prores", "ProRes 422 HQ MOV", ".mov", "mov", "prores_ks", False, _MOV_AUDIO, "pcm_s16le"
        ),
        ExportFormat(
            "ffv1", "FFV1 MKV (lossless)", ".mkv", "matroska", "ffv1", False, _MKV_AUDIO, "flac", False
        ),
        ExportFormat("png", "PNG sequence", "", None, None),
    )
}

_BY_SUFFIX = {".mp4": "h264", ".m4v": "h264", ".mov": "prores", ".mkv": "ffv1", "": "png"}


def infer_format(out: str | Path, name: str | None = None) -> ExportFormat:
    """The format named ``name``, or the one the path implies; a clear :class:`MediaError` otherwise."""
    out = Path(out)
    if name is not None:
        fmt = FORMATS.get(name.lower())
        if fmt is None:
            raise MediaError(f"unknown export format {name!r}; choose one of: {', '.join(FORMATS)}")
        if fmt.is_sequence and out.suffix and out.suffix.lower() in _BY_SUFFIX and not out.is_dir():
            raise MediaError(f"a PNG sequence is written into a folder; {out.name!r} is a video file name")
        if not fmt.is_sequence and out.is_dir():
            raise MediaError(f"{out} is a folder; give a file name ending in {fmt.suffix} for {fmt.label}")
        return fmt
    suffix = "" if out.is_dir() else out.suffix.lower()
    if suffix not in _BY_SUFFIX:
        known = ", ".join(s for s in _BY_SUFFIX if s)
        raise MediaError(
            f"cannot tell the export format from {out.name!r}: use {known}, a folder, or give the format"
        )
    return FORMATS[_BY_SUFFIX[suffix]]


def pixel_format(fmt: ExportFormat, channels: int) -> str:
    """What the encoder stores for frames with 1 (grey), 3 (RGB) or 4 (RGBA) channels."""
    table = {
        "h264": {1: "yuv420p", 3: "yuv420p"},
        "h265": {1: "yuv420p", 3: "yuv420p"},
        # 4:2:2 10-bit is ProRes 422 HQ; with alpha it becomes ProRes 4444.
        "prores": {1: "yuv422p10le", 3: "yuv422p10le", 4: "yuva444p10le"},
        # Packed RGB(A) is stored as is, so a decode returns exactly the input (lossless).
        "ffv1": {1: "gray", 3: "bgr0", 4: "bgra"},
        "png": {1: "gray", 3: "rgb24", 4: "rgba"},
    }[fmt.name]
    if channels not in table:
        if channels == 4:
            raise MediaError(
                f"{fmt.label} cannot store an alpha matte; export it as ProRes (.mov), FFV1 (.mkv) or PNG"
            )
        raise MediaError(f"frames with {channels} channels cannot be exported (expected grey, RGB or RGBA)")
    return table[channels]


def encoder_options(fmt: ExportFormat, quality: str, channels: int) -> dict[str, str]:
    """FFmpeg encoder options for ``fmt`` at a quality preset (draft / standard / high)."""
    if quality not in QUALITY_PRESETS:
        raise MediaError(f"unknown quality {quality!r}; choose one of: {', '.join(QUALITY_PRESETS)}")
    level = QUALITY_PRESETS.index(quality)
    if fmt.name == "h264":
        preset, crf = [("ultrafast", 23), ("veryfast", 18), ("slow", 16)][level]
        return {"preset": preset, "crf": str(crf), "profile": "high"}
    if fmt.name == "h265":
        preset, crf = [("ultrafast", 26), ("faster", 21), ("slow", 19)][level]
        return {"preset": preset, "crf": str(crf), "x265-params": "log-level=error"}
    if fmt.name == "prores":
        # ProRes quality is set by its profile, not a preset: 422 HQ, or 4444 when there is alpha.
        return {"profile": "4" if channels == 4 else "3", "vendor": "apl0"}
    if fmt.name == "ffv1":
        # Version 3 with slice CRCs detects damage; every frame a keyframe keeps random access cheap.
        return {"level": "3", "slicecrc": "1", "g": "1", "slices": "4", "coder": "0" if level == 0 else "1"}
    return {"compression": str([1, 3, 6][level])}
