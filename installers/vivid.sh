#!/usr/bin/env bash
# One entry point for Linux (macOS works the same way): sets up .venv when needed, then
#   installers/vivid.sh run [CLIP|PROJECT]   opens the editor (the built-in demo when no clip is given)
#   installers/vivid.sh test [PYTEST ARGS]   runs lint, import contracts and the test suite
#   installers/vivid.sh setup                only sets up
# Set-up is skipped when pyproject.toml, the lock and this script have not changed (a stamp in .venv).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
py="${PYTHON:-python3}"
venv="$here/.venv"
lock="$here/requirements/lock-linux.txt"
# torch comes first, at the version the lock names: an unpinned torch requirement would pull several GB
# of CUDA packages on machines that only have the CPU wheel at hand.
torch_pin="$(grep -E '^torch==' "$lock")"

setup() {
    if ! "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "VIVID Desktop needs Python 3.11 or newer ($py is $("$py" --version 2>&1))." >&2
        exit 1
    fi
    local stamp="$venv/.vivid-setup" want
    want="$(cat pyproject.toml installers/vivid.sh "$lock" | cksum)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    echo "Setting up $venv (first run takes a few minutes) ..." >&2
    [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --upgrade pip >&2
    "$venv/bin/python" -m pip install -q "$torch_pin" >&2
    # Exactly the lock: every package at the version it names (requirements/README.md says how to refresh).
    "$venv/bin/python" -m pip install -q -c "$lock" -e ".[gui,model,dev]" >&2
    echo "$want" > "$stamp"
}

cmd="${1:-run}"
[ $# -gt 0 ] && shift
case "$cmd" in
    setup) setup ;;
    run) setup; exec "$venv/bin/vivid-desktop" "$@" ;;
    test)
        setup
        export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
        "$venv/bin/ruff" check .
        "$venv/bin/ruff" format --check .
        "$venv/bin/lint-imports"
        exec "$venv/bin/python" -m pytest -q "$@"
        ;;
    *) echo "usage: installers/vivid.sh [run [CLIP]|test [PYTEST ARGS]|setup]" >&2; exit 2 ;;
esac
