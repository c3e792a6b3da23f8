"""Building the emails the tests receive, as a mail client would write them."""

import itertools
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime

from tests.sla.conftest import MONDAY

_ids = itertools.count(1)


def an_email(
    *,
    sender: str,
    to: str = "support@rxhealth.example",
    subject: str = "Re: [RX-1001] Rx.Health support replied",
    body: str | None = "The printer on ward 4 works again.",
    html: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
    message_id: str | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(MONDAY)
    message["Message-ID"] = message_id or f"<client.{next(_ids)}@hospital.example>"
    for name, value in (headers or {}).items():
        message[name] = value
    if html is not None and body is None:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body or "")
        if html is not None:
            message.add_alternative(html, subtype="html")
    for name, content, content_type in attachments:
        maintype, subtype = content_type.split("/", 1)
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def quoted(reply: str, original: str = "Rx.Health support replied to RX-1001.") -> str:
    """A reply above the quoted message and a signature, as phones and Outlook write it."""
    return (
        f"{reply}\n\n"
        "Best regards,\nJane Doe\nProject manager, St. Mary's\n\n"
        "On Mon, Nov 23, 2026 at 9:00 AM Rx.Health Support <support@rxhealth.example> wrote:\n"
        f"> {original}\n> Open the ticket: https://support.rxhealth.example/\n"
    )
