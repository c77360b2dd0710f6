"""How a render splits along its real dependencies into parts that can run anywhere, in any order.

A part is a :class:`RenderPlan` over a sub-range whose frames no other part writes and whose inputs do not
include another part's output, so running the parts in parallel writes exactly the frames one local
render writes:

- **vivid**: every keyframe starts a segment (DESIGN.md §1: KIVE); windows inside a segment chain on the
  previous window's last frame, so a segment is one part. The frames before the first keyframe form their
  own part. A part carries the keyframes at both of its ends, so a segment that is propagated towards a
  keyframe (backwards from the first one) sees it. Window seeds depend only on the job seed and where a
  window starts (``model_runtime.vivid.render.window_seed``), so a segment renders the same pixels alone.
- **flow**: deletion fills a frame from every other frame of the clip and carried keyframes blend between
  their neighbours, so a flow render is one part.

Independent edits and whole shots are independent plans; they are parts of their own.
"""

from __future__ import annotations

import itertools

from vivid_desktop.protocol.jobs import RenderPlan

#: engines whose renders split into keyframe segments
SEGMENTED_ENGINES = frozenset({"vivid"})


def split_plan(plan: RenderPlan) -> list[RenderPlan]:
    """The parts of one render (a list with the plan itself when it does not split)."""
    if plan.engine not in SEGMENTED_ENGINES:
        return [plan]
    keys = sorted({k.frame for k in plan.keyframes if plan.start < k.frame < plan.stop})
    if not keys:
        return [plan]
    bounds = [plan.start, *keys, plan.stop]
    return [
        plan.model_copy(
            update={
                "start": a,
                "stop": b,
                "keyframes": [k for k in plan.keyframes if a <= k.frame <= b],
            }
        )
        for a, b in itertools.pairwise(bounds)
    ]


def frames_of(plan: RenderPlan) -> range:
    """The frames a plan (or part) writes."""
    return range(plan.start, plan.stop)
