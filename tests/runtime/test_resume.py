"""A render that dies with its runtime resumes from the render folder after the supervisor restarts it."""

from __future__ import annotations

from pathlib import Path

from runtime_specs import real_spec

from vivid_desktop.protocol.jobs import RenderPlan
from vivid_desktop.runtime_client import Supervisor


def test_propagate_resumes_after_a_runtime_crash(tmp_path: Path):
    (tmp_path / "clip.mp4").write_bytes(b"x")
    (tmp_path / "mask.png").write_bytes(b"x")
    out = tmp_path / "render"

    def plan(**settings) -> RenderPlan:
        return RenderPlan(
            source=str(tmp_path / "clip.mp4"),
            start=0,
            stop=8,
            mask=str(tmp_path / "mask.png"),
            task="delete",
            engine="testing",
            settings=settings,
            output_dir=str(out),
        )

    sup = Supervisor(real_spec(), restart_delay_s=0.0)
    sup.start()
    try:
        sup.wait_ready(20)
        first = sup.submit(plan(crash_at=5))
        terminal = first.wait(20)
        assert terminal.content.code == "runtime_died" and "code 9" in terminal.content.message
        assert sorted(p.name for p in out.glob("0*.png")) == [f"{i:06d}.png" for i in range(5)]
        assert not list(out.glob(".*tmp*"))  # nothing half-written looks finished

        sup.wait_ready(20)  # restarted
        assert sup.launches == 2
        second = sup.submit(plan())
        assert second.wait(20).msg_type == "succeeded"
        assert second.result == {"output_dir": str(out), "frames": 8, "missing": 0}
        computed = [int(line) for line in (out / "computed.txt").read_text().split()]
        assert computed == [5, 6, 7]  # nothing already rendered was recomputed
    finally:
        sup.stop()


def test_flow_render_killed_mid_way_resumes_to_the_same_result(tmp_path: Path):
    import os
    import signal

    import cv2
    import numpy as np

    from vivid_desktop.media.synth import pan_scene, write_clip

    s = pan_scene(n_frames=120, width=160, height=96, seed=11)
    write_clip(tmp_path / "clip.mp4", s.frames, rate=24)
    cv2.imwrite(str(tmp_path / "mask.png"), cv2.dilate(s.masks[0], np.ones((25, 25), np.uint8)))

    def plan(out: str) -> RenderPlan:
        return RenderPlan(
            source=str(tmp_path / "clip.mp4"),
            start=0,
            stop=120,
            mask=str(tmp_path / "mask.png"),
            task="delete",
            engine="flow",
            output_dir=str(tmp_path / out),
        )

    sup = Supervisor(real_spec(), restart_delay_s=0.0)
    sup.start()
    try:
        sup.wait_ready(20)
        pid = sup.client.pid
        seen: list[int] = []

        def kill_after_five(msg):
            if msg.msg_type == "frame_ready":
                seen.append(msg.content.frame)
                if len(seen) == 5:
                    os.kill(pid, signal.SIGKILL)

        first = sup.submit(plan("render"), on_event=kill_after_five)
        assert first.wait(60).content.code == "runtime_died"
        before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "render").glob("0*.png")}
        assert 5 <= len(before) < 120, len(before)

        sup.wait_ready(20)
        resumed = []
        second = sup.submit(
            plan("render"), on_event=lambda m: m.msg_type == "frame_ready" and resumed.append(m)
        )
        assert second.wait(60).msg_type == "succeeded", second.error
        after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "render").glob("0*.png")}
        assert len(after) == 120 and all(after[name] == stamp for name, stamp in before.items())
        assert not {f"{m.content.frame:06d}.png" for m in resumed} & set(before)  # nothing recomputed

        straight = sup.submit(plan("straight"))
        assert straight.wait(60).msg_type == "succeeded"
        for name in sorted(after)[::7]:
            a = cv2.imread(str(tmp_path / "render" / name))
            b = cv2.imread(str(tmp_path / "straight" / name))
            assert np.array_equal(a, b), name
    finally:
        sup.stop()
