"""A real SMTP server on 127.0.0.1 for tests (aiosmtpd), on a free port, with knobs for the
faults a relay has: answering slowly, refusing the first messages, or not listening at all."""

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Handler:
    def __init__(self, *, delay: float = 0.0, refuse: int = 0) -> None:
        self.delay = delay
        self.refuse = refuse
        self.messages: list[Message] = []
        self.peers: set = set()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.peers.add(session.peer)
            if self.refuse > 0:
                self.refuse -= 1
                return "451 4.3.0 Try again later"
            self.messages.append(message_from_bytes(envelope.original_content))
        return "250 OK"

    @property
    def connections(self) -> int:
        """How many client connections carried messages."""
        return len(self.peers)

    def recipients(self) -> list[str]:
        with self.lock:
            return [message["To"] for message in self.messages]


def plain_text(message: Message) -> str:
    """The text/plain part of a received message, decoded."""
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(part.get_content_charset() or "utf-8")


@contextmanager
def smtp_server(*, delay: float = 0.0, refuse: int = 0) -> Iterator[tuple[Handler, int]]:
    """Run the server for the block; yields the handler (what it received) and the port."""
    handler = Handler(delay=delay, refuse=refuse)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def smtp_settings(settings, port: int, *, timeout: int = 30) -> None:
    """Point Django's SMTP backend at the test server."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = timeout
