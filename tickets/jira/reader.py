"""Reading a JIRA export, one issue at a time, in constant memory.

Two formats, as Atlassian documents them:
- REST search JSON (`/rest/api/2/search` or `/rest/api/3/search`, `expand=changelog`): a page is
  `{"startAt", "maxResults", "total", "issues": [...]}`; PATH is one page or a folder of pages
  (read in name order, one page in memory at a time). v3 descriptions and comments are Atlassian
  Document Format (ADF) JSON, v2 ones wiki text.
- The issue navigator's CSV export: one row per issue, repeated columns for multi-valued fields
  ("Comment", "Attachment", "Labels", "Component/s"), comments as `date;author;body` and
  attachments as `date;author;file name;url`.

Attachments are read from an `attachments` folder beside the export: `attachments/<id>/<name>`
(the layout of JIRA's own attachment store) or `attachments/<name>`.
"""

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from .records import (
    KEY_RE,
    ExportError,
    JiraAttachment,
    JiraChange,
    JiraComment,
    JiraIssue,
    JiraUser,
    _comment_public,
    _names,
    _time,
    _user,
    _Where,
    adf_text,
)

csv.field_size_limit(10 * 1024 * 1024)


def issue_from_rest(raw: Any, *, site_field: str | None = None) -> JiraIssue:
    """One issue of a REST search page."""
    if not isinstance(raw, dict) or not isinstance(raw.get("fields"), dict):
        raise ExportError("An issue in the export has no `fields`: is it a REST search page?")
    key = str(raw.get("key") or "")
    where = _Where(key or f"issue id {raw.get('id')}")
    if not KEY_RE.match(key):
        raise where.error(f"{key!r} is not a JIRA issue key.")
    f = raw["fields"]
    if not f.get("created"):
        raise where.error("it has no creation time.")
    name = lambda raw_field: (_names(raw_field) or [""])[0]  # noqa: E731
    site_values = {
        "project": _names((f.get("project") or {}).get("key")),
        "component": _names(f.get("components")),
        "label": _names(f.get("labels")),
    }
    if site_field:
        site_values[site_field] = _names(f.get(site_field))
    comments = []
    comment_block = f.get("comment") or {}
    for c in comment_block.get("comments") or [] if isinstance(comment_block, dict) else []:
        comments.append(
            JiraComment(
                id=str(c.get("id") or ""),
                author=_user(c.get("author")),
                body=adf_text(c.get("body")).strip(),
                created=_time(c.get("created"), where, "A comment's time"),
                public=_comment_public(c),
            )
        )
    attachments = [
        JiraAttachment(
            id=str(a.get("id") or ""),
            filename=str(a.get("filename") or ""),
            created=_time(a["created"], where, "An attachment's time")
            if a.get("created")
            else None,
            author=_user(a.get("author")),
        )
        for a in f.get("attachment") or []
    ]
    changes = []
    for h in (raw.get("changelog") or {}).get("histories") or []:
        items = tuple(
            (
                str(i.get("field") or ""),
                str(i.get("fromString") or i.get("from") or ""),
                str(i.get("toString") or i.get("to") or ""),
            )
            for i in h.get("items") or []
        )
        changes.append(
            JiraChange(
                id=str(h.get("id") or ""),
                author=_user(h.get("author")),
                created=_time(h.get("created"), where, "A changelog entry's time"),
                items=items,
            )
        )
    return JiraIssue(
        key=key,
        summary=str(f.get("summary") or "").strip(),
        description=adf_text(f.get("description")).strip(),
        issuetype=name(f.get("issuetype")),
        priority=name(f.get("priority")),
        status=name(f.get("status")),
        reporter=_user(f.get("reporter") or f.get("creator")),
        assignee=_user(f["assignee"]) if f.get("assignee") else None,
        created=_time(f["created"], where, "The creation time"),
        resolved=_time(f["resolutiondate"], where, "The resolution time")
        if f.get("resolutiondate")
        else None,
        site_values=site_values,
        comments=comments,
        attachments=attachments,
        changes=changes,
    )


def _rest_pages(path: Path) -> Iterator[Path]:
    if path.is_dir():
        pages = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
        if not pages:
            raise ExportError(f"{path.name}: no .json pages in this folder.")
        yield from pages
    else:
        yield path


def read_rest(path: Path, *, site_field: str | None = None) -> Iterator[JiraIssue]:
    last = "the start"
    for page in _rest_pages(path):
        try:
            with page.open("rb") as handle:
                data = json.load(handle)
        except json.JSONDecodeError as exc:
            raise ExportError(
                f"{page.name} is truncated or is not JSON (line {exc.lineno}, column "
                f"{exc.colno}); the last issue read before it was {last}."
            ) from None
        except UnicodeDecodeError:
            raise ExportError(f"{page.name} is not UTF-8 text.") from None
        if not isinstance(data, dict) or not isinstance(data.get("issues"), list):
            raise ExportError(
                f"{page.name} is not a JIRA REST search page (no `issues` list); export with "
                "/rest/api/2/search?expand=changelog or use the CSV export."
            )
        for raw in data["issues"]:
            issue = issue_from_rest(raw, site_field=site_field)
            last = issue.key
            yield issue


CSV_REQUIRED = ("Issue key", "Summary", "Issue Type", "Status", "Created")
CSV_SITE_COLUMNS = {"project": "Project key", "component": "Component/s", "label": "Labels"}
_ATTACHMENT_ID = re.compile(r"/attachment/([^/]+)/[^/]*$")


def read_csv(
    path: Path, *, site_field: str | None = None, tz: ZoneInfo | None = None
) -> Iterator[JiraIssue]:
    """Rows of JIRA's CSV export. Comments carry no visibility there: they are imported as
    internal notes unless the mapping says the export holds only public ones."""
    import hashlib

    try:
        handle = path.open(newline="", encoding="utf-8-sig")
        reader = csv.reader(handle)
        header = next(reader, None)
    except UnicodeDecodeError:
        raise ExportError(f"{path.name} is not UTF-8 text.") from None
    with handle:
        if not header:
            raise ExportError(f"{path.name} is empty.")
        columns: dict[str, list[int]] = {}
        for index, name in enumerate(header):
            columns.setdefault(name.strip(), []).append(index)
        missing = [c for c in CSV_REQUIRED if c not in columns]
        if missing:
            raise ExportError(
                f"{path.name} is not a JIRA CSV export: no {', '.join(missing)} column."
            )
        last = "the start"
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except (csv.Error, UnicodeDecodeError) as exc:
                raise ExportError(
                    f"{path.name} line {reader.line_num}: {exc}; the last issue read was {last}."
                ) from None
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ExportError(
                    f"{path.name} line {reader.line_num} has {len(row)} cells for "
                    f"{len(header)} columns (a truncated file?); the last issue read was {last}."
                )

            def one(name: str, row=row) -> str:
                return row[columns[name][0]].strip() if name in columns else ""

            def many(name: str, row=row) -> list[str]:
                return [row[i] for i in columns.get(name, []) if row[i].strip()]

            key = one("Issue key")
            where = _Where(key or f"{path.name} line {reader.line_num}")
            if not KEY_RE.match(key):
                raise where.error(f"{key!r} is not a JIRA issue key.")
            comments = []
            for cell in many("Comment"):
                parts = cell.split(";", 2)
                if len(parts) != 3:
                    raise where.error(f"a comment is not `date;author;text`: {cell[:40]!r}.")
                created = _time(parts[0], where, "A comment's time", tz=tz)
                digest = hashlib.sha256(cell.encode()).hexdigest()[:20]
                comments.append(
                    JiraComment(
                        id=f"csv-{digest}",
                        author=JiraUser(name=parts[1].strip(), id=parts[1].strip()),
                        body=parts[2].strip(),
                        created=created,
                        public=False,
                    )
                )
            attachments = []
            for cell in many("Attachment"):
                parts = cell.split(";", 3)
                if len(parts) != 4:
                    raise where.error(
                        f"an attachment is not `date;author;name;url`: {cell[:40]!r}."
                    )
                match = _ATTACHMENT_ID.search(parts[3].strip())
                attachments.append(
                    JiraAttachment(
                        id=match.group(1) if match else parts[2].strip(),
                        filename=parts[2].strip(),
                        created=_time(parts[0], where, "An attachment's time", tz=tz),
                        author=JiraUser(name=parts[1].strip(), id=parts[1].strip()),
                    )
                )
            site_values = {kind: many(column) for kind, column in CSV_SITE_COLUMNS.items()}
            if site_field:
                site_values[site_field] = many(site_field) or many(f"Custom field ({site_field})")
            reporter = one("Reporter")
            assignee = one("Assignee")
            resolved = one("Resolved")
            yield JiraIssue(
                key=key,
                summary=one("Summary"),
                description=one("Description"),
                issuetype=one("Issue Type"),
                priority=one("Priority"),
                status=one("Status"),
                reporter=JiraUser(name=reporter, id=reporter),
                assignee=JiraUser(name=assignee, id=assignee) if assignee else None,
                created=_time(one("Created"), where, "The creation time", tz=tz),
                resolved=_time(resolved, where, "The resolution time", tz=tz) if resolved else None,
                site_values=site_values,
                comments=comments,
                attachments=attachments,
            )
            last = key


def export_format(path: Path) -> str:
    """ "rest" or "csv", from the file itself (not its name); ExportError when neither."""
    if not path.exists():
        raise ExportError(f"{path} does not exist.")
    if path.is_dir():
        return "rest"
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return "rest"
    first_line = head.split(b"\n", 1)[0]
    if b"Issue key" in first_line and b"," in first_line:
        return "csv"
    raise ExportError(
        f"{path.name} is neither a JIRA REST search page (JSON) nor a JIRA CSV export "
        "(a header row with `Issue key`)."
    )


def issues_read(
    path: Path, *, site_field: str | None = None, csv_timezone: ZoneInfo | None = None
) -> Iterator[JiraIssue]:
    """Every issue of the export at `path`, one at a time."""
    if export_format(path) == "rest":
        return read_rest(path, site_field=site_field)
    return read_csv(path, site_field=site_field, tz=csv_timezone)


def attachments_folder(path: Path) -> Path:
    """The `attachments` folder beside the export (inside it, for a folder of pages)."""
    return (path if path.is_dir() else path.parent) / "attachments"


def attachment_file(folder: Path, attachment: JiraAttachment) -> Path | None:
    """The attachment's file, or None when it is not in the folder."""
    name = Path(attachment.filename).name
    if not name or name in (".", ".."):
        return None
    for candidate in (folder / attachment.id / name, folder / name):
        try:
            resolved = candidate.resolve()
        except OSError:
            continue
        if resolved.is_file() and resolved.is_relative_to(folder.resolve()):
            return resolved
    return None
