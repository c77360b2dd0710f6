"""Hand-off to an NLE: ``vivid export PROJECT -o EDIT.otio`` (and FCP 7 XML / EDL), read back frame-exact."""

from __future__ import annotations

from fractions import Fraction
from urllib.parse import unquote, urlparse

import av
import numpy as np
import opentimelineio as otio
import pytest

from vivid_desktop.cli.main import main
from vivid_desktop.core.files import write_png
from vivid_desktop.core.store import create_project
from vivid_desktop.core.timebase import timecode_to_frames
from vivid_desktop.media import synth
from vivid_desktop.media.errors import MediaError
from vivid_desktop.media.export import ExportCancelled
from vivid_desktop.media.export_timeline import export_timeline, source_timecode
from vivid_desktop.media.probe import probe

NTSC = Fraction(30000, 1001)
W, H = 64, 48
START_TC = "01:00:10:00"  # non-drop label on a 29.97 clip, as cameras write it


@pytest.fixture
def project(tmp_path):
    """A 24-frame NTSC MOV with a timecode track and audio; one edit rendered on frames 6–11, masked."""
    clip = synth.write_clip(
        tmp_path / "clip.mov",
        [synth.numbered_frame(i, W, H) for i in range(24)],
        rate=NTSC,
        audio_seconds=1.0,
        timecode=START_TC,
    )
    info = probe(clip)
    store = create_project(
        tmp_path / "clip.vivid", clip, width=info.width, height=info.height, rate=info.rate,
        frame_count=info.frame_count,
    )  # fmt: skip
    edit = store.project.add_edit(task="modify", caption="a red car", name="Car")
    mask = np.zeros((H, W), np.uint8)
    mask[10:30, 20:40] = 255
    store.add_keyframe(edit.id, 6, mask)
    render = store.prepare_render(edit.id, 6, 12)
    for n in range(6, 12):
        write_png(store.render_frame_path(render.id, n), synth.numbered_frame(100 + n, W, H))
    store.save()
    return store


def _path(url: str):
    from pathlib import Path

    return Path(unquote(urlparse(url).path))


def _frames(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_otio_places_the_edit_frame_exact_at_the_exact_rate(project, tmp_path):
    out = export_timeline(project, tmp_path / "shot.otio", start=4, stop=16)
    timeline = otio.adapters.read_from_file(str(out))
    tc0 = timecode_to_frames(START_TC, NTSC)

    (picture, matte, sound) = timeline.tracks
    assert [t.kind for t in timeline.tracks] == ["Video", "Video", "Audio"]
    clip = picture[0]
    rate = clip.source_range.start_time.rate
    assert Fraction(rate).limit_denominator(10000) == NTSC  # 30000/1001 survives the double
    assert timeline.metadata["vivid"]["rate"] == "30000/1001"
    assert clip.source_range.start_time.value == tc0 + 4
    assert clip.source_range.duration.value == 12
    assert otio.opentime.to_timecode(clip.source_range.start_time, rate, drop_frame=False) == "01:00:10:04"

    # The two references share the source's time: switching between them keeps every frame in place.
    refs = clip.media_references()
    assert set(refs) == {"edited", "original"} and clip.active_media_reference_key == "edited"
    assert refs["original"].available_range.start_time.value == tc0
    assert refs["original"].available_range.duration.value == 24
    assert _path(refs["original"].target_url) == (tmp_path / "clip.mov").resolve()

    edited = _frames(_path(refs["edited"].target_url))
    assert len(edited) == 12
    for i, frame in enumerate(edited):  # ProRes is near-lossless: read the frame numbers back
        n = 4 + i
        assert synth.read_frame_number(frame) == (100 + n if 6 <= n < 12 else n)
    assert source_timecode(_path(refs["edited"].target_url)) == "01:00:10:04"

    assert matte.name == "Matte: Car" and matte[0].source_range == clip.source_range
    with av.open(str(_path(matte[0].media_reference.target_url))) as c:
        mattes = [f.to_ndarray(format="rgba") for f in c.decode(video=0)]
    assert len(mattes) == 12
    assert mattes[2][20, 30, 3] > 200 and mattes[2][2, 2, 3] < 50  # frame 6: the keyframe's mask as alpha
    assert sound[0].source_range == clip.source_range


def test_fcp_xml_and_edl_round_trip(project, tmp_path):
    xml = export_timeline(project, tmp_path / "shot.xml", mattes=False)
    back = otio.adapters.read_from_file(str(xml))
    clip = next(iter(back.find_clips()))
    assert Fraction(clip.source_range.start_time.rate).limit_denominator(10000) == NTSC
    assert clip.source_range.duration.value == 24
    assert clip.source_range.start_time.value == timecode_to_frames(START_TC, NTSC)

    edl = export_timeline(project, tmp_path / "shot.edl", start=2, stop=10, mattes=False)
    assert edl.read_text().count("\n001 ") == 1  # one event: the edited picture
    back = otio.adapters.read_from_file(str(edl), rate=float(NTSC))
    clip = next(iter(back.find_clips()))
    # The adapter labels 29.97 drop-frame; the frames it names are the same ones.
    assert clip.source_range.start_time.value == timecode_to_frames(START_TC, NTSC) + 2
    assert clip.source_range.duration.value == 8


def test_cli_writes_a_timeline_and_refuses_unknown_suffixes(project, tmp_path, capsys):
    code = main(["export", str(project.folder), "-o", str(tmp_path / "edit.otio"), "--media-format", "ffv1"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.strip() == str(tmp_path / "edit.otio")
    timeline = otio.adapters.read_from_file(str(tmp_path / "edit.otio"))
    edited = _path(timeline.tracks[0][0].media_reference.target_url)
    assert edited.suffix == ".mkv" and edited.parent == tmp_path / "edit.media"
    frames = _frames(edited)
    assert np.array_equal(frames[7], synth.numbered_frame(107, W, H))  # FFV1 hands the render over losslessly

    with pytest.raises(MediaError, match=r"\.otio, \.xml"):
        export_timeline(project, tmp_path / "edit.aaf")


def test_a_cancelled_export_leaves_nothing_new_and_keeps_the_last_one(project, tmp_path):
    """Cancelled during the mattes: the movies this export made and its new media folder are removed; a
    second, cancelled export over a finished one leaves the finished one's files as they were."""
    calls = {"n": 0}

    def cancel_late() -> bool:
        calls["n"] += 1
        return calls["n"] > 30  # past the edited movie, inside the matte

    with pytest.raises(ExportCancelled):
        export_timeline(project, tmp_path / "cut.otio", cancel=cancel_late)
    assert calls["n"] > 30
    assert not (tmp_path / "cut.media").exists() and not (tmp_path / "cut.otio").exists()

    done = export_timeline(project, tmp_path / "cut.otio")
    before = {p.name: p.read_bytes() for p in (tmp_path / "cut.media").iterdir()}
    assert len(before) == 2  # the edited movie and one matte
    with pytest.raises(ExportCancelled):
        export_timeline(project, tmp_path / "cut.otio", cancel=lambda: True)
    assert {p.name: p.read_bytes() for p in (tmp_path / "cut.media").iterdir()} == before
    assert done.is_file()
