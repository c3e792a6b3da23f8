"""Reading the support mailbox over IMAP (imap-tools): unread messages, oldest first, each
handed to `inbound_message_receive` and then flagged seen, so the next pass skips it. A message
fetched twice (a crash between processing and flagging) is still processed once: rows are
unique by Message-ID."""

import logging
from collections import Counter
from urllib.parse import unquote, urlsplit

from django.conf import settings
from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessageFlags

from .services import inbound_message_receive

logger = logging.getLogger(__name__)


def _mailbox(url: str) -> tuple[MailBox | MailBoxUnencrypted, str, str, str]:
    parts = urlsplit(url)
    timeout = settings.INBOUND_IMAP_TIMEOUT_SECONDS
    box: MailBox | MailBoxUnencrypted
    if parts.scheme == "imaps":
        box = MailBox(parts.hostname, parts.port or 993, timeout=timeout)
    else:
        box = MailBoxUnencrypted(parts.hostname, parts.port or 143, timeout=timeout)
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    return box, unquote(parts.username or ""), unquote(parts.password or ""), folder


def inbound_mailbox_fetch(*, url: str | None = None) -> Counter:
    """One pass over the mailbox; counts of `received` (new rows), `duplicate`, `failed` (left
    unread for the next pass) and each outcome. Does nothing when INBOUND_IMAP_URL is unset."""
    url = settings.INBOUND_IMAP_URL if url is None else url
    counts: Counter = Counter()
    if not url:
        return counts
    box, user, password, folder = _mailbox(url)
    with box.login(user, password, initial_folder=folder) as mailbox:
        messages = mailbox.fetch(
            AND(seen=False), mark_seen=False, limit=settings.INBOUND_FETCH_BATCH_SIZE, bulk=True
        )
        for message in messages:
            try:
                row, new = inbound_message_receive(raw=message.obj.as_bytes())
            except Exception:
                # Left unread, so the next pass tries again; the others still go through.
                logger.exception("Inbound mail: message uid %s could not be processed", message.uid)
                counts["failed"] += 1
                continue
            counts["received" if new else "duplicate"] += 1
            if new:
                counts[row.outcome] += 1
            if message.uid is not None:  # a server that gives no UID cannot be told it was read
                mailbox.flag(message.uid, MailMessageFlags.SEEN, True)
    if counts:
        logger.info("Inbound mail: %s", ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return counts
