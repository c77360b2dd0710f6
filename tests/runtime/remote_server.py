"""A real ``vivid-runtime serve`` subprocess on loopback, with TLS certificates the tests make."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from runtime_specs import TESTING_ENGINE
from tls_certs import Pair, make_ca, make_server


@dataclass
class Certs:
    ca: Pair
    server: Pair
    expired: Pair
    other_ca: Pair


def make_certs(folder: Path) -> Certs:
    folder.mkdir(parents=True, exist_ok=True)
    ca = make_ca(folder)
    other = make_ca(folder, "Somebody else's CA")
    return Certs(
        ca=ca[0],
        server=make_server(folder, "server", ca),
        expired=make_server(folder, "expired", ca, expired=True),
        other_ca=other[0],
    )


def write_token(path: Path, token: str | None = None) -> Path:
    path.write_text((token or secrets.token_urlsafe(32)) + "\n")
    path.chmod(0o600)
    return path


@dataclass
class ServedRuntime:
    proc: subprocess.Popen
    port: int
    data: Path
    token_file: Path
    log: Path
    extra: dict = field(default_factory=dict)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def serve(folder: Path, pair: Pair | None, token_file: Path, *args: str) -> ServedRuntime:
    """Start ``vivid-runtime serve`` on 127.0.0.1 (any port) and wait until it listens."""
    folder.mkdir(parents=True, exist_ok=True)
    port_file = folder / "port"
    log = folder / "serve.log"
    tls = ["--tls-cert", str(pair.cert), "--tls-key", str(pair.key)] if pair else []
    cmd = [
        sys.executable, "-m", "model_runtime.server", "serve", "--listen", "127.0.0.1:0",
        "--token-file", str(token_file), *tls, "--data", str(folder / "data"),
        "--port-file", str(port_file), "--engine", TESTING_ENGINE, "--log-file", str(log), *args,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(folder / "stderr", "wb"))  # noqa: SIM115
    deadline = time.monotonic() + 30
    while not port_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"serve did not start: {(folder / 'stderr').read_text()}")
        time.sleep(0.05)
    return ServedRuntime(proc, int(port_file.read_text()), folder / "data", token_file, log)
