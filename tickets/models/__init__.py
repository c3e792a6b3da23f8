"""The ticketing domain: hospital sites, their members, tickets, comments, attachments,
history, and the notification outbox.

The SLA clock and escalation columns live on `Ticket` (indexed, so "what is due now" is one
query) but are written only by `sla` and `escalation` services.
"""

from .choices import (
    FILING_ROLES,
    OPEN_STATUSES,
    Impact,
    Kind,
    Role,
    SLAState,
    Status,
    validate_timezone,
)
from .major_incidents import (
    MajorIncident,
    MajorIncidentUpdate,
)
from .outbox import (
    Notification,
    NotificationHold,
)
from .sites import (
    ClientSite,
    MembershipEvent,
    SiteMembership,
    UserPreference,
)
from .tickets import (
    Attachment,
    Comment,
    Ticket,
    TicketEvent,
    attachment_path,
)

__all__ = [
    "FILING_ROLES",
    "OPEN_STATUSES",
    "Attachment",
    "ClientSite",
    "Comment",
    "Impact",
    "Kind",
    "MajorIncident",
    "MajorIncidentUpdate",
    "MembershipEvent",
    "Notification",
    "NotificationHold",
    "Role",
    "SLAState",
    "SiteMembership",
    "Status",
    "Ticket",
    "TicketEvent",
    "UserPreference",
    "attachment_path",
    "validate_timezone",
]
