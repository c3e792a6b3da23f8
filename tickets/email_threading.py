"""How an outgoing email names its ticket, so a reply pressed in a mail client finds it again.

- Reply-To is a plus-address of the support mailbox carrying the ticket's reference and a
  token signed with SECRET_KEY: `support+RX-1042.3f9a0c1d2e4b@rxhealth.example`. Nobody can
  make up the token for another ticket.
- Message-ID is unique per outbox row and names the ticket; In-Reply-To and References point
  at the ticket's thread (`<RX-1042@rxhealth.example>`), so mail clients group a ticket's
  messages and a reply's headers name the ticket too.

Built here, once, for every email the outbox sends; the inbound app reads the same scheme back
with `reply_address_parse` and `references_in_message_ids`.
"""

import re
from collections.abc import Iterable
from email.utils import parseaddr

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from .models import Notification

_TOKEN_SALT = "tickets.email_threading.reply-address"  # noqa: S105 (an HMAC salt)
_TOKEN_LENGTH = 12


def _support_address() -> tuple[str, str]:
    """(local part, domain) of the support mailbox replies go to."""
    address = parseaddr(settings.INBOUND_REPLY_ADDRESS)[1]
    local, _, domain = address.rpartition("@")
    return local.split("+", 1)[0], domain.lower()


def _reference_pattern() -> str:
    return re.escape(settings.TICKET_REFERENCE_PREFIX) + r"\d+"


def reply_token(reference: str) -> str:
    """The token that proves a reply address was made by us for this ticket (lower-case hex,
    so mail systems that fold case keep it valid)."""
    mac = salted_hmac(_TOKEN_SALT, reference.upper(), algorithm="sha256").hexdigest()
    return mac[:_TOKEN_LENGTH]


def reply_address(reference: str) -> str:
    """The signed plus-address naming this ticket: `support+RX-1042.<token>@domain`."""
    local, domain = _support_address()
    return f"{local}+{reference}.{reply_token(reference)}@{domain}"


def reply_address_parse(address: str) -> tuple[str, bool] | None:
    """(reference, token is valid) when the address is a ticket's plus-address of the support
    mailbox; None for any other address."""
    local, domain = _support_address()
    match = re.fullmatch(
        re.escape(local) + r"\+(" + _reference_pattern() + r")\.([0-9a-z]*)@" + re.escape(domain),
        parseaddr(address)[1].strip(),
        flags=re.IGNORECASE,
    )
    if match is None:
        return None
    reference = match.group(1).upper()
    return reference, constant_time_compare(match.group(2).lower(), reply_token(reference))


def is_support_address(address: str) -> bool:
    """True for the support mailbox itself or any of its plus-addresses (mail from it is ours)."""
    local, domain = _support_address()
    found = parseaddr(address)[1].strip().lower()
    return bool(re.fullmatch(re.escape(local.lower()) + r"(\+[^@]*)?@" + re.escape(domain), found))


def thread_id(reference: str) -> str:
    """The Message-ID every email about this ticket refers to."""
    return f"<{reference}@{_support_address()[1]}>"


def references_in_message_ids(values: Iterable[str]) -> list[str]:
    """Ticket references named by our own Message-IDs among these header values, in order."""
    domain = re.escape(_support_address()[1])
    pattern = re.compile(r"<(" + _reference_pattern() + r")(?:\.[^@<>\s]*)?@" + domain + ">", re.I)
    found: list[str] = []
    for value in values:
        for match in pattern.finditer(value or ""):
            reference = match.group(1).upper()
            if reference not in found:
                found.append(reference)
    return found


def email_threading_headers(notification: Notification) -> dict[str, str]:
    """Reply-To, Message-ID, In-Reply-To and References for one outgoing email. A row without a
    ticket (an answer to mail we could not accept) is marked auto-replied, so that the other
    side's auto-responders do not answer it."""
    domain = _support_address()[1]
    ticket = notification.ticket
    if ticket is None:
        return {
            "Message-ID": f"<answer.{notification.pk}@{domain}>",
            "Auto-Submitted": "auto-replied",
        }
    reference = ticket.reference
    thread = thread_id(reference)
    return {
        "Reply-To": reply_address(reference),
        "Message-ID": f"<{reference}.{notification.pk}@{domain}>",
        "In-Reply-To": thread,
        "References": thread,
    }
