"""A render that dies with its runtime resumes from the render folder after the supervisor restarts it."""

from __future__ import annotations

from pathlib import Path

from conftest import real_spec

from model_runtime.protocol.jobs import RenderPlan
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
