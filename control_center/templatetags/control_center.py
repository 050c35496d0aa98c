"""Display helpers for control-center templates (formatting only, no decisions)."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

from ..roles import role_of

register = template.Library()


@register.filter
def staff_role(user) -> str:
    """The staff member's role label ("Operator", "Supervisor", "Admin"), or "no role"."""
    role = role_of(user)
    return role.label if role else "no role"


@register.filter
def duration(seconds) -> str:
    """3725 -> "1h 02m 05s"; None -> "—"."""
    if seconds is None or seconds == "":
        return "\u2014"
    total = int(round(float(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


@register.filter
def since(moment: datetime | None) -> str:
    """Seconds from a moment until now, as a duration (an online period still running)."""
    if moment is None:
        return "\u2014"
    return duration((timezone.now() - moment).total_seconds())


@register.filter
def rupiah(amount) -> str:
    """50000 -> "Rp 50.000" (Indonesian thousands separator)."""
    if amount is None or amount == "":
        return "\u2014"
    return "Rp " + f"{int(amount):,}".replace(",", ".")


@register.filter
def percent(value) -> str:
    if value is None:
        return "\u2014"
    return f"{float(value) * 100:.1f}%"


@register.filter
def rating(value) -> str:
    if value is None:
        return "\u2014"
    return f"{float(value):.2f}"


@register.filter
def short_id(value) -> str:
    return str(value)[:8]


@register.simple_tag(takes_context=True)
def page_url(context, param: str, number: int) -> str:
    """This page's query string with one pager parameter changed (the others kept)."""
    query = context["request"].GET.copy()
    query[param or "page"] = number
    return "?" + query.urlencode()
