#!/usr/bin/env bash
# One entry point for Linux (macOS works the same way): sets up .venv when needed, then
#   installers/vivid.sh run [CLIP|PROJECT]   opens the editor (the built-in demo when no clip is given)
#   installers/vivid.sh test [PYTEST ARGS]   runs lint, import contracts and the test suite
#   installers/vivid.sh setup                only sets up (and says what the system lacks for the window)
#   installers/vivid.sh torch-build          prints the torch build set-up would install (cpu, cu128, ...)
# Every package is installed at the version requirements/lock-linux.txt names. Set-up is skipped when
# pyproject.toml, the lock, this script and the torch build have not changed (a stamp in .venv).
#
# torch: the build is chosen here, the version comes from the lock. VIVID_TORCH=auto (default) takes the
# CUDA build when nvidia-smi works (the newest one the driver runs) and the CPU build otherwise;
# VIVID_TORCH=cpu, cuda, or a build tag (cu126, cu128, cu130) forces one. VIVID_TORCH_INDEX names a
# mirror of download.pytorch.org/whl, or "none" to take torch from pip's configured indexes only.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
py="${PYTHON:-python3}"
venv="$here/.venv"
lock="$here/requirements/lock-linux.txt"
torch_version="$(sed -nE 's/^torch==([0-9][0-9.]*)$/\1/p' "$lock")"
# CUDA builds published for that torch version on download.pytorch.org, newest first. Keep in step
# with the lock's torch (installers/lock.sh prints a reminder when torch changes).
torch_cuda_builds="cu130 cu128 cu126"
torch_index="${VIVID_TORCH_INDEX:-https://download.pytorch.org/whl}"

die() { echo "vivid.sh: $*" >&2; exit 1; }

driver_cuda() {  # the CUDA version the NVIDIA driver supports ("12.8"), or nothing
    command -v nvidia-smi >/dev/null 2>&1 || return 0
    { nvidia-smi 2>/dev/null || true; } | sed -nE 's/.*CUDA Version: *([0-9]+\.[0-9]+).*/\1/p' | head -n 1
}

build_fits() {  # cu128 runs on a driver that supports CUDA 12.8 or newer
    local need="${1#cu}" major="${2%%.*}" minor="${2#*.}"
    [ "$need" -le $((major * 10 + minor)) ]
}

torch_build() {  # prints cpu, cuNNN, or pypi (macOS: PyPI's wheel, with MPS on Apple silicon)
    local want="${VIVID_TORCH:-auto}" cuda tag
    case "$want" in
        cpu | cu[0-9]*) echo "$want"; return ;;
        auto | cuda) ;;
        *) die "VIVID_TORCH=$want: use auto, cpu, cuda or a build tag such as cu128" ;;
    esac
    if [ "$(uname -s)" = Darwin ]; then echo pypi; return; fi
    cuda="$(driver_cuda)"
    if [ -z "$cuda" ]; then
        [ "$want" = cuda ] && die "VIVID_TORCH=cuda, but nvidia-smi does not work here (no NVIDIA driver?)"
        echo cpu; return
    fi
    for tag in $torch_cuda_builds; do
        if build_fits "$tag" "$cuda"; then echo "$tag"; return; fi
    done
    echo "vivid.sh: the NVIDIA driver supports CUDA $cuda, older than every CUDA build of torch" \
        "$torch_version ($torch_cuda_builds): installing the CPU build; update the driver for the GPU." >&2
    echo cpu
}

install_torch() {  # $1: the build from torch_build
    local build="$1" have pin
    pin="torch==$torch_version+$build"
    if [ "$build" = pypi ]; then pin="torch==$torch_version"; fi
    have="$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("torch"))' 2>/dev/null || true)"
    if [ "$have" = "${pin#torch==}" ]; then return 0; fi
    case "$build" in
        cpu) echo "Installing torch $torch_version, CPU build (VIVID_TORCH=cuda for an NVIDIA GPU) ..." >&2 ;;
        pypi) echo "Installing torch $torch_version ..." >&2 ;;
        *) echo "Installing torch $torch_version, CUDA build $build from $torch_index/$build" \
            "(driver: CUDA $(driver_cuda); VIVID_TORCH=cpu for the CPU build) ..." >&2 ;;
    esac
    # (a pin with the build tag replaces another build of the same version; a failed install keeps it)
    if [ "$build" = pypi ] || [ "$torch_index" = none ]; then
        "$venv/bin/python" -m pip install -q "$pin" >&2
    else
        "$venv/bin/python" -m pip install -q --extra-index-url "$torch_index/$build" "$pin" >&2
    fi
}

setup() {  # $1: the extras to install ("gui,model,otio" for users, "gui,model,otio,dev" for the tests)
    local extras="$1" stamp="$venv/.vivid-setup" build want
    if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        die "VIVID Desktop needs Python 3.11 or newer ($py is $("$py" --version 2>&1))."
    fi
    [ -n "$torch_version" ] || die "no torch==VERSION line in $lock"
    build="$(torch_build)"
    want="$(cat pyproject.toml installers/vivid.sh "$lock" | cksum) torch+$build"
    # A set-up with more extras serves a command that needs fewer (test's set-up serves run).
    if [ -f "$stamp" ] && grep -qxF "$want" "$stamp" && grep -qxF "extras $extras" "$stamp"; then
        return 0
    fi
    echo "Setting up $venv (first run takes a few minutes) ..." >&2
    [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip >&2
    install_torch "$build"
    # Exactly the lock: every package at the version it names (requirements/README.md says how to refresh).
    "$venv/bin/python" -m pip install -q -c "$lock" -e ".[$extras]" >&2
    "$venv/bin/python" -m pip check >&2 || die "the installed packages do not fit together (pip check above)"
    {
        echo "$want"
        echo "extras $extras"
        if [ "$extras" = gui,model,otio,dev ]; then echo "extras gui,model,otio"; fi
    } > "$stamp"
}

check_window() {  # one line and a non-zero status when the editor's window cannot open here
    "$venv/bin/vivid" doctor --gui
}

cmd="${1:-run}"
[ $# -gt 0 ] && shift
case "$cmd" in
    setup)
        setup gui,model,otio
        check_window || echo "(the command line and the tests work without it)" >&2
        ;;
    run)
        setup gui,model,otio
        check_window || exit 1
        exec "$venv/bin/vivid-desktop" "$@"
        ;;
    test)
        setup gui,model,otio,dev
        export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
        "$venv/bin/ruff" check .
        "$venv/bin/ruff" format --check .
        "$venv/bin/lint-imports"
        "$venv/bin/mypy"
        exec "$venv/bin/python" -m pytest -q "$@"
        ;;
    torch-build) torch_build ;;
    *) echo "usage: installers/vivid.sh [run [CLIP]|test [PYTEST ARGS]|setup|torch-build]" >&2; exit 2 ;;
esac
