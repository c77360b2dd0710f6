"""Qt-free domain of VIVID Desktop: project model, project folder, mask tools, undo, exact time.

Modules (each docstring shows its usage):

- ``events``      tiny observer: models emit ``Event``s, views connect callbacks
- ``timebase``    Fraction rates, frames ↔ seconds, SMPTE timecode (drop-frame at 29.97/59.94)
- ``project``     ``Project`` → ``SourceClip``, ``Edit`` → ``Keyframe``, ``Render``; mutations emit events
- ``store``       the ``NAME.vivid/`` folder: ``create_project``, ``open_project``, ``ProjectStore``, made of
                  ``layout`` (checked paths), ``saving`` (save, backups, read-only), ``mask_storage``
- ``paths``       what ids and names in project.json may be; ``inside``: a path stays in the folder
- ``loading``     reading project.json without trusting it: what it may not name is left out
- ``junk``        temp files of interrupted writes, removed when a project opens
- ``schema``      ``"Project.N"`` versions and step-wise ``UPGRADERS``
- ``mask_cache``  the store's unsaved and recently read masks
- ``autosave``    ``Autosaver``: saves within 3 s of a change on its own thread
- ``render_plan`` ``RenderPlan`` for an edit; ``final_layers`` + ``compose_layers``: the output frame
- ``masks``       mask tools on uint8 arrays (brush, fill, feather, hull …)
- ``undo``        ``UndoLog`` with transactions and merging; ``ProjectRecorder``; ``MaskEdit``
- ``painter``     ``MaskPainter``: the mask being painted, strokes as undo steps
- ``files``       atomic/durable writes, PNG I/O, ``fingerprint``
"""
