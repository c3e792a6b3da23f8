"""What a JIRA export holds, read into plain records (issues, people, comments, attachments,
changes), with the date and text helpers both readers use."""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo


class ExportError(Exception):
    """The export cannot be read (truncated, unknown format, missing columns)."""


@dataclass(frozen=True)
class JiraUser:
    name: str = ""
    email: str = ""
    # accountId (Cloud) or username (Server / Data Center)
    id: str = ""


@dataclass(frozen=True)
class JiraComment:
    id: str
    author: JiraUser
    body: str
    created: datetime
    public: bool


@dataclass(frozen=True)
class JiraAttachment:
    id: str
    filename: str
    created: datetime | None
    author: JiraUser


@dataclass(frozen=True)
class JiraChange:
    id: str
    author: JiraUser
    created: datetime
    # (field, from, to) as JIRA words them
    items: tuple[tuple[str, str, str], ...]


@dataclass
class JiraIssue:
    key: str
    summary: str
    description: str
    issuetype: str
    priority: str
    status: str
    reporter: JiraUser
    assignee: JiraUser | None
    created: datetime
    resolved: datetime | None
    # Where the site may be named: "project", "component", "label" or a field id/column name.
    site_values: dict[str, list[str]] = field(default_factory=dict)
    comments: list[JiraComment] = field(default_factory=list)
    attachments: list[JiraAttachment] = field(default_factory=list)
    changes: list[JiraChange] = field(default_factory=list)


KEY_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,30}-[1-9][0-9]{0,8}$")


def parse_jira_datetime(value: str, *, tz: ZoneInfo | None = None) -> datetime:
    """JIRA's REST times (`2025-11-03T09:15:22.000+0000`) and its CSV export's default
    (`03/Nov/25 9:15 AM`, in the exporting user's zone `tz`)."""
    value = value.strip()
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value, fmt).astimezone(UTC)
        except ValueError:
            pass
    for fmt in ("%d/%b/%y %I:%M %p", "%d/%b/%Y %I:%M %p", "%Y-%m-%d %H:%M"):
        try:
            naive = datetime.strptime(value, fmt)  # noqa: DTZ007 - the zone is applied below
        except ValueError:
            continue
        return naive.replace(tzinfo=tz or UTC).astimezone(UTC)
    raise ValueError(f"{value!r} is not a date JIRA writes")


def adf_text(node: Any) -> str:
    """Plain text of an Atlassian Document Format node (REST v3); wiki text passes through."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "".join(adf_text(child) for child in node)
    if not isinstance(node, dict):
        return str(node)
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    if kind in ("mention", "emoji", "status"):
        attrs = node.get("attrs") or {}
        return str(attrs.get("text") or attrs.get("shortName") or "")
    inner = adf_text(node.get("content") or [])
    if kind == "listItem":
        return "- " + inner.strip() + "\n"
    if kind in ("paragraph", "heading", "codeBlock", "blockquote", "rule", "tableRow"):
        return inner.rstrip("\n") + "\n"
    if kind == "doc":
        return inner.strip()
    return inner


def _user(raw: Any) -> JiraUser:
    if not isinstance(raw, dict):
        return JiraUser(name=str(raw or ""), id=str(raw or ""))
    return JiraUser(
        name=str(raw.get("displayName") or raw.get("name") or ""),
        email=str(raw.get("emailAddress") or "").strip().lower(),
        id=str(raw.get("accountId") or raw.get("name") or raw.get("key") or ""),
    )


def _names(raw: Any) -> list[str]:
    """Values of a field that holds a string, an option ({"value"}), a named object ({"name"}),
    or a list of those."""
    if raw is None:
        return []
    if isinstance(raw, list):
        return [name for item in raw for name in _names(item)]
    if isinstance(raw, dict):
        value = raw.get("value") or raw.get("name") or raw.get("key")
        return [str(value)] if value else []
    text = str(raw).strip()
    return [text] if text else []


def _comment_public(raw: dict) -> bool:
    """JIRA Service Management marks internal comments with `jsdPublic: false` or the
    `sd.public.comment` property `{"internal": true}`; plain JIRA comments are public."""
    if "jsdPublic" in raw:
        return bool(raw["jsdPublic"])
    for prop in raw.get("properties") or []:
        if isinstance(prop, dict) and prop.get("key") == "sd.public.comment":
            return not bool((prop.get("value") or {}).get("internal"))
    return True


class _Where:
    """Which issue a problem is in, for messages."""

    def __init__(self, key: str) -> None:
        self.key = key

    def error(self, message: str) -> ExportError:
        return ExportError(f"{self.key}: {message}")


def _time(value: Any, where: _Where, what: str, *, tz: ZoneInfo | None = None) -> datetime:
    try:
        return parse_jira_datetime(str(value), tz=tz)
    except (ValueError, TypeError):
        raise where.error(f"{what} {value!r} is not a date.") from None
