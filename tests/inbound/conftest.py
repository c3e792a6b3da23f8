"""A real IMAP server for the inbound-mail tests: Debian's dovecot on 127.0.0.1, a free port
and a throw-away maildir, started once per test session. Each test reads its own mailbox
(a user of its own), so tests never see each other's mail."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from imap_tools import AND, MailBoxUnencrypted

from tests.sla.conftest import agent, it, pm, site, viewer  # noqa: F401 (shared fixtures)

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
PASSWORD = "imap-test-password"
NOBODY = 65534  # dovecot refuses to run mail processes as root


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ImapServer:
    port: int

    def mailbox_for(self, user: str) -> "Mailbox":
        return Mailbox(port=self.port, user=user)


@dataclass
class Mailbox:
    port: int
    user: str

    @property
    def url(self) -> str:
        return f"imap://{self.user}:{PASSWORD}@127.0.0.1:{self.port}/INBOX"

    def _open(self) -> MailBoxUnencrypted:
        return MailBoxUnencrypted("127.0.0.1", self.port, timeout=10).login(self.user, PASSWORD)

    def deliver(self, raw: bytes) -> None:
        """Put a message into the mailbox as a mail server would: unread, in INBOX."""
        with self._open() as box:
            box.append(raw, "INBOX", flag_set=())

    def mark_all_unseen(self) -> None:
        with self._open() as box:
            box.flag(
                [m.uid for m in box.fetch(headers_only=True, mark_seen=False) if m.uid],
                "\\Seen",
                False,
            )

    def unseen_count(self) -> int:
        with self._open() as box:
            return len(list(box.fetch(AND(seen=False), headers_only=True, mark_seen=False)))


@pytest.fixture(scope="session")
def imap_server(tmp_path_factory) -> Iterator[ImapServer]:
    if not os.path.exists(DOVECOT):
        pytest.skip("dovecot is not installed (Debian package dovecot-imapd)")
    root = tmp_path_factory.mktemp("dovecot")
    # The mail processes run as nobody, who cannot enter pytest's private temp folders.
    mail = Path(tempfile.mkdtemp(prefix="inbound-maildir-"))
    os.chown(mail, NOBODY, NOBODY)
    port = _free_port()
    config = root / "dovecot.conf"
    config.write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{mail}/%u
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
passdb {{
  driver = static
  args = password={PASSWORD}
}}
userdb {{
  driver = static
  args = uid={NOBODY} gid={NOBODY} home={mail}/%u
}}
"""
    )
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log = Path(root / "dovecot.log")
                output = process.stdout.read().decode() if process.stdout else ""
                raise RuntimeError(
                    "dovecot did not start: " + output + (log.read_text() if log.exists() else "")
                ) from None
            time.sleep(0.1)
    yield ImapServer(port=port)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    shutil.rmtree(mail, ignore_errors=True)


@pytest.fixture
def mailbox(imap_server, settings) -> Mailbox:
    """An empty support mailbox of this test's own, set as INBOUND_IMAP_URL."""
    box = imap_server.mailbox_for(f"support-{uuid.uuid4().hex[:12]}")
    settings.INBOUND_IMAP_URL = box.url
    return box
