"""One build step pyproject.toml cannot say: the repository's top-level ``resources/`` folder (style
sheets, icons) goes into the wheel as ``vivid_desktop/resources/``. Everything else is in pyproject.toml.

In a checkout (and an editable install) the code reads ``resources/`` where it is
(``vivid_desktop.system.resources``), so nothing is copied there.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


class BuildWithResources(build_py):
    def run(self) -> None:
        super().run()
        if not self.editable_mode:
            self.copy_tree(str(HERE / "resources"), str(Path(self.build_lib, "vivid_desktop", "resources")))


setup(cmdclass={"build_py": BuildWithResources})
