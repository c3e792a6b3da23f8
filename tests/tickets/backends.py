"""Email backends for the outbox tests: Django's locmem backend, made to fail on purpose."""

from django.core.mail.backends.locmem import EmailBackend


class FlakyBackend(EmailBackend):
    """Fails the first `failures` sends (class-wide), then delivers like locmem."""

    failures = 2
    calls = 0

    def send_messages(self, messages):
        type(self).calls += 1
        if type(self).calls <= type(self).failures:
            raise ConnectionRefusedError("SMTP server not answering")
        return super().send_messages(messages)


class BrokenBackend(EmailBackend):
    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server not answering")
