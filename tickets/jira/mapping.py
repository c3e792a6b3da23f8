"""The mapping file: how JIRA's values become ours. TOML (Python's own `tomllib`):

[users]
importer = "agent@rx.health"        # staff account for history and notes nobody else wrote
[users.emails]                      # JIRA names without an email (CSV exports, JIRA Cloud)
"jsmith" = "jane.smith@mercy.example"

[site]
from = "component"                  # project | component | label | a field id or CSV column
[site.values]
"Mercy General" = "mercy-general"   # value -> ClientSite slug

[kinds]       "Incident" = "incident" ...   # issue types -> kind
[impacts]     "Highest" = "high" ...        # priorities -> impact (incidents only)
[statuses]    "Waiting for customer" = "waiting_on_client" ...

[csv]
timezone = "America/New_York"       # the zone the CSV's times were exported in
public_comments = false             # true: the CSV's comments were all public
"""

import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..models import Impact, Kind, Status
from .records import JiraIssue, JiraUser

BUILT_IN_SITE_SOURCES = ("project", "component", "label")


class MappingError(Exception):
    """The mapping file cannot be used as written."""


@dataclass
class Mapping:
    importer: str
    site_from: str
    sites: dict[str, str]
    kinds: dict[str, str]
    impacts: dict[str, str]
    statuses: dict[str, str]
    emails: dict[str, str] = field(default_factory=dict)
    csv_timezone: ZoneInfo | None = None
    csv_public_comments: bool = False
    fingerprint: str = ""

    @property
    def site_field(self) -> str | None:
        return None if self.site_from in BUILT_IN_SITE_SOURCES else self.site_from

    def email_of(self, user: JiraUser | None) -> str:
        """The person's email: JIRA's own, else the mapping's for their name or id."""
        if user is None:
            return ""
        if user.email:
            return user.email
        for name in (user.id, user.name):
            if name and name in self.emails:
                return self.emails[name].strip().lower()
            if "@" in name:
                return name.strip().lower()
        return ""

    def site_of(self, issue: JiraIssue) -> str | None:
        for value in issue.site_values.get(self.site_from, []):
            if value in self.sites:
                return self.sites[value]
        return None

    def kind_of(self, issue: JiraIssue) -> str:
        return self.kinds[issue.issuetype]

    def impact_of(self, issue: JiraIssue) -> str:
        return self.impacts[issue.priority] if self.kind_of(issue) == Kind.INCIDENT else ""

    def status_of(self, issue: JiraIssue) -> str:
        return self.statuses[issue.status]


def _table(data: dict, name: str, allowed: list[str] | None = None) -> dict[str, str]:
    table = data.get(name, {})
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise MappingError(f'[{name}] must be a table of "JIRA value" = "our value" lines.')
    if allowed is not None:
        wrong = sorted({v for v in table.values() if v not in allowed})
        if wrong:
            raise MappingError(f"[{name}]: {', '.join(wrong)} not one of {', '.join(allowed)}.")
    return dict(table)


def mapping_load(path: Path) -> Mapping:
    """Read and check a mapping file; MappingError says what to fix."""
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise MappingError(f"{path} does not exist.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path.name} is not valid TOML: {exc}") from None
    users = data.get("users", {})
    importer = users.get("importer") if isinstance(users, dict) else None
    if not isinstance(importer, str) or "@" not in importer:
        raise MappingError(
            '[users] importer = "…" must name the email of the staff account that history '
            "entries and internal notes by unknown people are kept under."
        )
    site = data.get("site", {})
    if not isinstance(site, dict) or not isinstance(site.get("from"), str):
        raise MappingError(
            '[site] from = "…" must say where a ticket\'s site is named: project, component, '
            "label, or a field id (customfield_10002) or CSV column (Organizations)."
        )
    csv_section = data.get("csv", {})
    tz = None
    if csv_section.get("timezone"):
        try:
            tz = ZoneInfo(str(csv_section["timezone"]))
        except (ZoneInfoNotFoundError, ValueError):
            raise MappingError(f"[csv] timezone {csv_section['timezone']!r} is unknown.") from None
    import hashlib

    return Mapping(
        importer=importer.strip().lower(),
        site_from=site["from"],
        sites=_table(site, "values"),
        kinds=_table(data, "kinds", list(Kind.values)),
        impacts=_table(data, "impacts", list(Impact.values)),
        statuses=_table(data, "statuses", list(Status.values)),
        emails=_table(users, "emails"),
        csv_timezone=tz,
        csv_public_comments=bool(csv_section.get("public_comments", False)),
        fingerprint=hashlib.sha256(raw).hexdigest(),
    )


class Unmapped:
    """Values seen in the export that the mapping does not map, with an example key each."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, str]] = defaultdict(dict)

    def check(self, mapping: Mapping, issue: JiraIssue) -> None:
        if issue.issuetype not in mapping.kinds:
            self.values["kinds"].setdefault(issue.issuetype, issue.key)
        elif mapping.kinds[issue.issuetype] == Kind.INCIDENT and issue.priority not in (
            mapping.impacts
        ):
            self.values["impacts"].setdefault(issue.priority, issue.key)
        if issue.status not in mapping.statuses:
            self.values["statuses"].setdefault(issue.status, issue.key)
        seen = issue.site_values.get(mapping.site_from, [])
        if seen and mapping.site_of(issue) is None:
            for value in seen:
                self.values["site.values"].setdefault(value, issue.key)

    def __bool__(self) -> bool:
        return any(self.values.values())

    def lines(self) -> list[str]:
        out = []
        for section, values in sorted(self.values.items()):
            for value, key in sorted(values.items()):
                out.append(f"[{section}] {value!r} (first seen in {key})")
        return out
