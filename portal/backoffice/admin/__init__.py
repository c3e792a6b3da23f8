"""The back office: Django admin pages for the ticket domain, one module per kind of page.
Every write goes through the services (`tickets.services`, `tickets.major_incidents`) from
`save_model` / `save_formset`; `common.ServiceAdminMixin` turns a refusal into a form error.
Importing this package registers the pages (`portal.admin` does, at admin autodiscovery).

- `tickets`: the queue and a ticket's page (forms in `ticket_forms`, bulk actions in
  `ticket_actions`, filters and record inlines in `ticket_inlines`)
- `notifications`: the notification ledger
- `sites`: sites, their members, users
- `major_incidents`: major incidents
"""

from . import major_incidents, notifications, sites, tickets

__all__ = ["major_incidents", "notifications", "sites", "tickets"]
