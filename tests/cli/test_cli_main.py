"""``vivid``: every failure is a short reason and a non-zero exit, never a traceback."""

from __future__ import annotations

import pytest

from vivid_desktop.cli import main as cli


def _boom(args):
    raise RuntimeError("disk on fire")


def test_an_unexpected_error_is_one_reason_and_exit_1(monkeypatch, capsys, tmp_path):
    parser = cli.build_parser()
    args = parser.parse_args(["probe", str(tmp_path / "x.mp4")])
    args.func = _boom
    monkeypatch.setattr(cli.argparse.ArgumentParser, "parse_args", lambda self, argv=None: args)
    monkeypatch.delenv("VIVID_DEBUG", raising=False)
    assert cli.main([]) == 1
    err = capsys.readouterr().err
    assert "vivid probe: unexpected error: RuntimeError: disk on fire" in err
    assert "Traceback" not in err


def test_vivid_debug_shows_the_traceback(monkeypatch, tmp_path):
    parser = cli.build_parser()
    args = parser.parse_args(["probe", str(tmp_path / "x.mp4")])
    args.func = _boom
    monkeypatch.setattr(cli.argparse.ArgumentParser, "parse_args", lambda self, argv=None: args)
    monkeypatch.setenv("VIVID_DEBUG", "1")
    with pytest.raises(RuntimeError, match="disk on fire"):
        cli.main([])
