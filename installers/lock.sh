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
QT_QPA_PLATFORM=offscreen ./installers/vivid.sh setup >/dev/null  # (no window check: not opening one)
py="$here/.venv/bin/python"
"$py" -m pip install -q pip-tools >&2
old="$(mktemp)"; trap 'rm -f "$old"' EXIT
cp "$lock" "$old"
# torch is resolved from its CPU index, so the CUDA libraries PyPI's Linux wheel pulls in (nvidia-*,
# triton) never enter the lock: the installer installs the build for the machine (CPU or CUDA) and its
# own dependencies; the lock names torch's public version only.
# --allow-unsafe: setuptools (the wheel test builds without isolation) is pinned like everything else.
# --all-extras: every extra is locked (a user's [otio] or [farm] gets tested versions too).
torch_index="${VIVID_TORCH_INDEX:-https://download.pytorch.org/whl}"
cpu_index=()
if [ "$torch_index" != none ]; then cpu_index=(--extra-index-url "$torch_index/cpu"); fi
# (${a[@]+"${a[@]}"}: an empty array under set -u in macOS's bash 3.2)
"$here/.venv/bin/pip-compile" -q ${upgrade[@]+"${upgrade[@]}"} ${cpu_index[@]+"${cpu_index[@]}"} \
    --allow-unsafe --all-extras --strip-extras --no-emit-index-url --no-emit-find-links \
    --no-emit-trusted-host -o "$lock" pyproject.toml
sed -i -E 's/^(torch==[0-9.]+)\+[a-z0-9]+$/\1/' "$lock"
if grep -qE '^(nvidia-|triton==|cuda-)' "$lock"; then
    cp "$old" "$lock"
    echo "lock.sh: torch resolved to a CUDA build (nvidia-* packages in the lock); the lock is left as it" \
        "was. torch's CPU index: ${cpu_index[*]:-none (VIVID_TORCH_INDEX=none)}" >&2
    exit 1
fi
echo "What changed in $lock:"
changes="$(diff <(grep -E '^[A-Za-z0-9]' "$old") <(grep -E '^[A-Za-z0-9]' "$lock") | grep -E '^[<>]' || true)"
echo "${changes:-  nothing}"
if ! cmp -s <(grep -E '^torch==' "$old") <(grep -E '^torch==' "$lock"); then
    echo "torch changed: check the CUDA builds it is published for (torch_cuda_builds in installers/vivid.sh" \
        "and \$TorchCudaBuilds in installers/vivid.ps1)."
fi
QT_QPA_PLATFORM=offscreen ./installers/vivid.sh setup
if [ "$test" = 1 ]; then exec ./installers/vivid.sh test; fi
