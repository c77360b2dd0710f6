#!/usr/bin/env bash
# Refreshes requirements/lock-linux.txt from pyproject.toml, installs it into .venv, runs the suite on
# the new versions and prints what changed.
#   installers/lock.sh            keep every locked version that still fits pyproject (adds what is new)
#   installers/lock.sh --upgrade  take the newest versions pyproject allows
#   installers/lock.sh --no-test  only write the lock and install it
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
lock="requirements/lock-linux.txt"
upgrade=() test=1
for arg in "$@"; do
    case "$arg" in
        --upgrade) upgrade=(--upgrade) ;;
        --no-test) test=0 ;;
        *) echo "usage: installers/lock.sh [--upgrade] [--no-test]" >&2; exit 2 ;;
    esac
done
./installers/vivid.sh setup >/dev/null
py="$here/.venv/bin/python"
"$py" -m pip install -q pip-tools >&2
old="$(mktemp)"; trap 'rm -f "$old"' EXIT
cp "$lock" "$old"
# torch stays at the installer's build (CPU or CUDA); the lock names the public version only.
# --allow-unsafe: setuptools (the wheel test builds without isolation) is pinned like everything else.
# --all-extras: every extra is locked (a user's [otio] or [farm] gets tested versions too).
"$here/.venv/bin/pip-compile" -q "${upgrade[@]}" --allow-unsafe --all-extras \
    --strip-extras --no-emit-index-url --no-emit-find-links --no-emit-trusted-host -o "$lock" pyproject.toml
sed -i -E 's/^(torch==[0-9.]+)\+[a-z0-9]+$/\1/' "$lock"
echo "What changed in $lock:"
changes="$(diff <(grep -E '^[A-Za-z0-9]' "$old") <(grep -E '^[A-Za-z0-9]' "$lock") | grep -E '^[<>]' || true)"
echo "${changes:-  nothing}"
if ! cmp -s <(grep -E '^torch==' "$old") <(grep -E '^torch==' "$lock"); then
    echo "torch changed: check the CUDA builds it is published for (torch_cuda_builds in installers/vivid.sh" \
        "and \$TorchCudaBuilds in installers/vivid.ps1)."
fi
./installers/vivid.sh setup
if [ "$test" = 1 ]; then exec ./installers/vivid.sh test; fi
