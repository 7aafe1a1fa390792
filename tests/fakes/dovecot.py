"""A real IMAP server for tests: Debian's dovecot with a throw-away config, plus a TCP relay that
can turn connections away as a server under maintenance does.

The server listens on 127.0.0.1 (plaintext auth, a passwd-file user), keeps mail in a temporary
maildir that tests fill with `deliver()`, and is stopped with `doveadm stop`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CONFIG = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{root}/mail/%u
first_valid_uid = {uid}
last_valid_uid = 0
default_internal_user = {internal}
default_login_user = {login}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def dovecot_missing() -> str | None:
    """Why dovecot cannot run here, or None."""
    if shutil.which("dovecot") is None or shutil.which("doveadm") is None:
        return "dovecot is not installed (apt-get install -y dovecot-imapd)"
    return None


@dataclass
class Dovecot:
    root: Path
    port: int
    uid: int
    gid: int

    def maildir(self, user: str) -> Path:
        return self.root / "mail" / user

    def create(self, user: str) -> Path:
        """The user's maildir, created (owned by the mail user) if missing."""
        box = self.maildir(user)
        for sub in ("cur", "new", "tmp"):
            (box / sub).mkdir(parents=True, exist_ok=True)
            os.chown(box / sub, self.uid, self.gid)
        os.chown(box, self.uid, self.gid)
        return box

    def deliver(self, user: str, message: bytes) -> None:
        """Put a message into the user's INBOX as a mail delivery agent would (new/)."""
        box = self.create(user)
        name = f"{time.time_ns()}.{uuid.uuid4().hex}.skuflow"
        temporary = box / "tmp" / name
        temporary.write_bytes(message)
        os.chown(temporary, self.uid, self.gid)
        temporary.rename(box / "new" / name)


@contextmanager
def start_dovecot(users: dict[str, str]) -> Iterator[Dovecot]:
    """Run dovecot for `users` ({name: password}) on a free port until the block ends."""
    root = Path(tempfile.mkdtemp(prefix="skuflow-dovecot-"))  # short: socket paths are limited
    root.chmod(0o755)
    if os.geteuid() == 0:  # dovecot refuses to give mail to root
        owner = pwd.getpwnam("mail")
        internal, login = "dovecot", "dovenull"
    else:
        owner = pwd.getpwuid(os.geteuid())
        internal = login = owner.pw_name
    port = _free_port()
    (root / "passwd").write_text("".join(f"{u}:{{PLAIN}}{p}\n" for u, p in users.items()))
    for folder in ("run", "state", "mail", "home"):
        (root / folder).mkdir()
    for folder in ("mail", "home"):
        os.chown(root / folder, owner.pw_uid, owner.pw_gid)
    config = root / "dovecot.conf"
    config.write_text(
        CONFIG.format(
            root=root,
            port=port,
            uid=owner.pw_uid,
            gid=owner.pw_gid,
            internal=internal,
            login=login,
        )
    )
    server = Dovecot(root=root, port=port, uid=owner.pw_uid, gid=owner.pw_gid)
    for user in users:
        server.create(user)
    # The daemon keeps inherited pipes open, so its output goes to a file, never to a pipe.
    with (root / "start.log").open("wb") as output:
        started = subprocess.run(
            ["dovecot", "-c", str(config)], stdin=subprocess.DEVNULL, stdout=output, stderr=output
        )
    if started.returncode:
        raise RuntimeError(f"dovecot did not start:\n{(root / 'start.log').read_text()}")
    try:
        _wait_for_port(port, root / "dovecot.log")
        yield server
    finally:
        subprocess.run(
            ["doveadm", "-c", str(config), "stop"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
        )
        shutil.rmtree(root, ignore_errors=True)


class TcpRelay:
    """Forwards TCP connections to `upstream_port`; `refuse_next` connections instead get an
    IMAP `* BYE [UNAVAILABLE]` greeting and are closed, as a server going down for maintenance
    answers."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.refuse_next = 0
        self.refused = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.refuse_next:
                self.refuse_next -= 1
                self.refused += 1
                client.sendall(b"* BYE [UNAVAILABLE] Server is under maintenance\r\n")
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pipe, args=(a, b), daemon=True).start()


def _pipe(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    detail = log.read_text() if log.exists() else "(no log)"
    raise RuntimeError(f"dovecot did not listen on port {port} within {timeout} s:\n{detail}")
