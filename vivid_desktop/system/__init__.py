"""What the machine provides: system libraries for Qt, the user's folders, the distribution's installer.

Qt-free and torch-free: ``vivid doctor``, the installers and ``vivid-desktop``'s start-up check use it
before anything heavy is imported.
"""
