"""The render's working preview: labelled by engine, never over the object, and it can be turned off."""

from __future__ import annotations

import numpy as np
from guitools import settle
from PySide6.QtGui import QColor, QImage


def _preview() -> QImage:
    image = QImage(96, 54, QImage.Format.Format_RGB888)
    image.fill(QColor(200, 40, 40))
    return image


def test_flow_previews_stay_in_the_render_panel(qtbot, opened):
    w = opened
    w.propagate.engine = "flow"
    w.propagate.stateChanged.emit(True, 0.1, "Rendering")
    w.propagate.latentPreview.emit(_preview())
    settle(qtbot, 20)
    assert w.viewer.latent is None  # nothing drawn over the frame during a flow render
    assert w.propagate_panel.latent.isVisible()
    assert w.propagate_panel.latent_caption.text().startswith("Flow")


def test_vivid_latents_sit_in_the_corner_away_from_the_mask_and_can_be_turned_off(qtbot, opened):
    w = opened
    fw, fh = w.viewer.frame_size
    mask = np.zeros((fh, fw), np.uint8)
    mask[fh // 2 :, fw // 2 :] = 255  # the object is in the bottom-right quarter
    w.viewer.set_mask(mask)
    w.propagate.engine = "vivid"
    w.propagate.latentPreview.emit(_preview())
    assert w.viewer.latent is not None and w.viewer.latent_caption.startswith("VIVID")
    box, frame = w.viewer.latent_rect(), w.viewer.image_rect(0)
    assert box.right() < frame.center().x() and box.bottom() < frame.center().y()  # top-left corner
    mask[:] = 0
    mask[: fh // 2, : fw // 2] = 255  # the object moved to the top-left quarter
    w.viewer.set_mask(mask.copy())
    box = w.viewer.latent_rect()
    assert box.left() > frame.center().x() and box.top() > frame.center().y()
    w.actions_by_name["latent_preview"].trigger()  # View ▸ Latent preview off
    assert w.viewer.latent is None and w.settings.get("view/latent_preview") is False
    w.propagate.latentPreview.emit(_preview())
    assert w.viewer.latent is None and w.propagate_panel.latent_caption.text().startswith("VIVID")
