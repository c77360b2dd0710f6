"""VIVID Desktop: the GUI process (core, media, runtime client, Qt views)."""

__version__ = "0.1.0"
