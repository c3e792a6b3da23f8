"""Reading one raw email: who sent it, where to, what it replies to, whether a machine sent it,
its new text (quoted history and signature removed) and its attachments."""

import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

from mailparser_reply import EmailReplyParser

# Mail written by a program: never answered, never a comment (RFC 3834, common practice).
_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_MACHINE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)@", re.I)
_AUTO_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "List-Id")
_BLOCK_TAGS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table"}
_HIDDEN_TAGS = {"style", "script", "head", "title"}


@dataclass
class ParsedAttachment:
    name: str
    content: bytes


@dataclass
class ParsedMail:
    message_id: str
    from_address: str
    from_name: str
    recipients: list[str]
    subject: str
    thread_headers: list[str]
    automatic_reason: str
    text: str
    attachments: list[ParsedAttachment] = field(default_factory=list)


class _HTMLText(HTMLParser):
    """HTML-only mail to plain text: block elements become line breaks, scripts and styles go."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_TAGS:
            self.hidden = max(self.hidden - 1, 0)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def reply_text(body: str) -> str:
    """The new part of a reply: without quoted history, reply headers or signature."""
    message = EmailReplyParser(languages=["en"]).read(body.replace("\r\n", "\n"))
    if not message.replies:
        return body.strip()
    return message.replies[0].body.strip()


def _automatic_reason(message: EmailMessage, from_address: str) -> str:
    auto_submitted = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for header in _AUTO_HEADERS:
        if message.get(header) is not None:
            return f"{header} header"
    return_path = str(message.get("Return-Path", "")).strip()
    if return_path == "<>" or not from_address:
        return "null sender (a bounce)"
    if _MACHINE_SENDERS.match(from_address):
        return "sent by a mail system"
    if message.get_content_type() == "multipart/report":
        return "delivery report"
    return ""


def _body_and_attachments(message: EmailMessage) -> tuple[str, list[ParsedAttachment]]:
    attachments = []
    for part in message.iter_attachments() if message.is_multipart() else ():
        content = part.get_payload(decode=True)
        if not isinstance(content, bytes):  # a nested message or an empty part
            continue
        name = part.get_filename() or "attachment"
        attachments.append(ParsedAttachment(name=name.rsplit("/", 1)[-1][:255], content=content))
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return "", attachments
    try:
        content = body.get_content()
    except (LookupError, ValueError):  # an unknown charset: read what can be read
        payload = body.get_payload(decode=True)
        content = (payload if isinstance(payload, bytes) else b"").decode("utf-8", errors="replace")
    if body.get_content_type() == "text/html":
        content = html_to_text(content)
    return content, attachments


def mail_parse(raw: bytes) -> ParsedMail:
    """Everything the portal uses from one raw message."""
    message = message_from_bytes(raw, policy=policy.default)
    from_name, from_address = parseaddr(str(message.get("From", "")))
    from_address = from_address.strip().lower()
    if "@" not in from_address:
        from_address = ""
    recipients = [
        address
        for _, address in getaddresses(
            [
                str(v)
                for h in ("To", "Cc", "Delivered-To", "X-Original-To")
                for v in message.get_all(h, [])
            ]
        )
        if address
    ]
    message_id = str(message.get("Message-ID", "")).strip()
    if not message_id:
        # Without one, the content itself identifies it: fetched twice, processed once.
        message_id = f"<sha256.{hashlib.sha256(raw).hexdigest()}@no-message-id>"
    body, attachments = _body_and_attachments(message)
    return ParsedMail(
        message_id=message_id[:500],
        from_address=from_address,
        from_name=from_name,
        recipients=recipients,
        subject=" ".join(str(message.get("Subject", "")).split())[:300],
        thread_headers=[
            str(v) for h in ("In-Reply-To", "References") for v in message.get_all(h, [])
        ],
        automatic_reason=_automatic_reason(message, from_address),
        text=reply_text(body),
        attachments=attachments,
    )
