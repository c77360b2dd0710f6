"""Fake runtime: dies before it listens, with a reason on stderr."""

import sys

print("fake runtime: cannot load libcuda.so (simulated)", file=sys.stderr)
sys.exit(3)
