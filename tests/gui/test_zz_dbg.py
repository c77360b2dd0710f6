import sys, threading, time, traceback
from guitools import GapRecorder
from test_editor_workflow import paint_object_outline

class Watch:
    def __init__(self, rec):
        self.rec=rec; self.stop=False; self.samples=[]
        self.main=threading.main_thread().ident
        self.t=threading.Thread(target=self.run, daemon=True, name="vivid-watch"); self.t.start()
    def run(self):
        while not self.stop:
            time.sleep(0.003)
            age = self.rec.clock.elapsed()-self.rec.last
            if age > 25:
                f=sys._current_frames().get(self.main)
                self.samples.append((age, "".join(traceback.format_stack(f, limit=8)[-6:])))

def test_dbg(qtbot, live, scene):
    w, s = live, live.session
    paint_object_outline(qtbot, w, scene.masks[0])
    with qtbot.waitSignal(w.tracker.finished, timeout=60000):
        w.mask_panel.track_button.click()
    for attempt in range(2):
        gaps = GapRecorder().start()
        wt = Watch(gaps)
        t0=time.monotonic()
        with qtbot.waitSignal(w.propagate.finished, timeout=60000):
            if attempt == 0: w.propagate_panel.run_button.click()
            else:
                s.project.set_edit_field(s.edit_id, "seed", 5); w.propagate_panel.run_button.click()
        gaps.stop(); wt.stop=True; wt.t.join()
        print("worst", gaps.worst, sorted(gaps.gaps)[-8:], time.monotonic()-t0)
        seen=set()
        for age, st in wt.samples:
            if st in seen: continue
            seen.add(st); print("----", age); print(st)
