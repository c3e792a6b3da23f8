"""The default email backend when no EMAIL_URL is set: one console line per email sent, so a
demo's console stays readable. The whole message is kept in the back office's notification
ledger; set EMAIL_URL=consolemail:// to print every message in full instead."""

import sys
import threading

from django.core.mail.backends.base import BaseEmailBackend


class OneLineConsoleBackend(BaseEmailBackend):
    _lock = threading.Lock()

    def send_messages(self, email_messages) -> int:
        sent = 0
        with self._lock:
            for message in email_messages:
                to = ", ".join(message.to) or "(no recipient)"
                subject = " ".join(str(message.subject).split())
                sys.stdout.write(f"Email to {to}: {subject}\n")
                sent += 1
            sys.stdout.flush()
        return sent
