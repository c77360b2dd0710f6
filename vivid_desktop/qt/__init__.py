"""The editor (the only package that imports PySide6)."""
