"""`{% escalation_panel ticket %}`: the ticket page's escalation box (level, groups alerted,
and the Escalate button for those who may press it)."""

from django import template

from escalation.selectors import escalation_panel as panel_for

register = template.Library()


@register.inclusion_tag("portal/escalation_panel.html", takes_context=True)
def escalation_panel(context, ticket):
    request = context["request"]
    return {
        "ticket": ticket,
        "panel": panel_for(ticket=ticket, user=request.user),
        "csrf_token": context.get("csrf_token"),
    }
