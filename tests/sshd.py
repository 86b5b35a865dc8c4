"""A real OpenSSH server on a loopback port, for the `gateway probe --ssh` tests.

The binary comes from `ops/sshd-cache.sh` (the Debian package unpacked into .cache/sshd, never
installed system-wide). The server listens on 127.0.0.1:<free port> only, with a generated host key
and a generated client key in an AuthorizedKeysFile, PidFile none, StrictModes no, started with
`-D -e -f <generated sshd_config>`.

Privilege separation: as root, OpenSSH needs the `sshd` user and /run/sshd, which this machine does
not have; an sshd that is not root skips privilege separation. So the server runs as an
unprivileged user (`nobody` when the tests run as root, else the tests' own user) and the client
logs in as that user, which is all port forwarding needs. `UsePAM yes`: Debian gives service
accounts a locked password (`*`) and OpenSSH without PAM refuses locked accounts for every method;
with PAM the account stack decides (and allows a key login). No session is ever opened (`ssh -N`).

The client side (our CLI's `ssh`) is pointed at a test-only ssh_config through
OPENCLAW_SSH_CONFIG: a known_hosts file holding this server's host key, and no other file of the
real user's ~/.ssh.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from .harness import REPO, free_port, port_open, wait_for

CACHE_SCRIPT = REPO / "ops" / "sshd-cache.sh"
UNAVAILABLE = 3  # the script's "cannot be obtained here" exit code


def sshd_binary() -> Path:
    """The cached sshd (downloaded on first use); skips the test, with the reason, if it cannot be had."""
    try:
        proc = subprocess.run(
            ["bash", str(CACHE_SCRIPT)], check=False, capture_output=True, text=True, timeout=300,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("ops/sshd-cache.sh did not finish within 300 s (package download)")
    if proc.returncode == UNAVAILABLE:
        pytest.skip(f"no OpenSSH server for the tunnel test: {proc.stderr.strip().splitlines()[-1]}")
    if proc.returncode != 0:
        pytest.fail(f"ops/sshd-cache.sh exited {proc.returncode}:\n{proc.stderr}", pytrace=False)
    path = Path(proc.stdout.strip().splitlines()[-1])
    assert path.is_file(), proc.stdout
    return path


def _login_user() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root and there is no `nobody` user to run an unprivileged sshd as")


def _keygen(path: Path) -> str:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "openclaw-test", "-f", str(path)],
                   check=True, capture_output=True, timeout=30)
    return path.with_suffix(".pub").read_text().strip()


@dataclass
class Sshd:
    port: int
    user: str
    proc: subprocess.Popen[bytes]
    folder: Path
    client_key: Path
    ssh_config: Path
    log_file: Path

    @property
    def target(self) -> str:
        return f"{self.user}@127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {"OPENCLAW_SSH_CONFIG": str(self.ssh_config)}

    def log(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def sessions(self) -> list[psutil.Process]:
        """sshd's per-connection children (alive while a client is connected)."""
        try:
            return psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []


@contextmanager
def running_sshd(client_dir: Path, identity_in_config: bool = True) -> Iterator[Sshd]:
    """An sshd on 127.0.0.1:<free port> for the block; it and its session children are killed after."""
    binary = sshd_binary()
    user = _login_user()
    # The server (not root) must read its files: a folder of its own outside the tests' 0700 tmp dirs.
    folder = Path(tempfile.mkdtemp(prefix="openclaw-sshd-"))
    proc: subprocess.Popen[bytes] | None = None
    sessions: list[psutil.Process] = []
    try:
        folder.chmod(0o755)
        host_key = folder / "host_key"
        host_pub = _keygen(host_key)
        client_key = client_dir / "client_key"
        client_pub = _keygen(client_key)
        authorized = folder / "authorized_keys"
        authorized.write_text(client_pub + "\n")
        authorized.chmod(0o644)
        if os.geteuid() == 0:
            os.chown(host_key, user.pw_uid, user.pw_gid)
        port = free_port()
        config = folder / "sshd_config"
        config.write_text(
            f"ListenAddress 127.0.0.1:{port}\nHostKey {host_key}\nAuthorizedKeysFile {authorized}\n"
            "PidFile none\nUsePAM yes\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PubkeyAuthentication yes\nAllowTcpForwarding local\nPermitTTY no\nX11Forwarding no\n"
            "AllowAgentForwarding no\nPermitTunnel no\nPermitUserEnvironment no\nLogLevel VERBOSE\n"
        )
        config.chmod(0o644)
        known_hosts = client_dir / "known_hosts"
        known_hosts.write_text(f"[127.0.0.1]:{port} {' '.join(host_pub.split()[:2])}\n")
        ssh_config = client_dir / "ssh_config"
        ssh_config.write_text(
            f"Host *\n  UserKnownHostsFile {known_hosts}\n  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking yes\n  IdentitiesOnly yes\n  LogLevel ERROR\n"
            + (f"  IdentityFile {client_key}\n" if identity_in_config else "  IdentityFile /dev/null\n")
        )
        log_file = client_dir / "sshd.log"
        root = binary.parent.parent.parent
        triplet = next((p.name for p in (root / "usr" / "lib").glob("*-linux-gnu*")), "x86_64-linux-gnu")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LD_LIBRARY_PATH": f"{root}/usr/lib/{triplet}:{root}/lib/{triplet}",
        }
        with open(log_file, "wb") as log:
            proc = subprocess.Popen(
                [str(binary), "-D", "-e", "-f", str(config)], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                env=env, **({"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if os.geteuid() == 0 else {}),
            )
        server = Sshd(port, user.pw_name, proc, folder, client_key, ssh_config, log_file)

        def up() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"sshd exited {proc.returncode}:\n{server.log()}")
            return port_open(port)

        wait_for(up, 10, what=f"sshd listening on 127.0.0.1:{port}")
        yield server
    finally:
        if proc is not None:
            try:
                sessions = psutil.Process(proc.pid).children(recursive=True)
            except psutil.NoSuchProcess:
                pass
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
            for child in sessions:  # psutil checks it is still the same process (no reused pid)
                try:
                    child.kill()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
        shutil.rmtree(folder, ignore_errors=True)
