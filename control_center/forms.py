"""Forms of the control center. They check shape only; the services check the rules."""

from __future__ import annotations

from django import forms

from accounts.models import Mitra, PlatformSettings
from accounts.services import SETTINGS_KEYS
from billing.models import Transaction
from chat.models import SessionReport
from halobestie.errors import ApplicationError
from pricing.models import Tier

from .roles import ROLES
from .selectors import REPORT_FILTERS, SESSION_STATE_FILTERS


def apply_error(form: forms.Form, exc: ApplicationError) -> None:
    """Show a service's refusal on the form: per field when it names fields."""
    if exc.fields:
        for name, messages in exc.fields.items():
            for message in messages:
                form.add_error(name if name in form.fields else None, message)
    else:
        form.add_error(None, exc.detail)


# --- staff sign-in -----------------------------------------------------------------------


class LoginForm(forms.Form):
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "username"})
    )
    password = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class TotpCodeForm(forms.Form):
    """A 6-digit code from the authenticator app, or a recovery code."""

    code = forms.CharField(
        max_length=24,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "one-time-code", "spellcheck": "false"}),
    )


def _password_field() -> forms.CharField:
    return forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordConfirmForm(forms.Form):
    password = _password_field()


class SecondFactorChangeForm(forms.Form):
    """Changing two-factor sign-in: the password again, and a code."""

    password = _password_field()
    code = forms.CharField(
        label="Code from the app, or a recovery code", max_length=24, widget=forms.TextInput(attrs={"autocomplete": "one-time-code"})
    )


class StaffRoleForm(forms.Form):
    role = forms.ChoiceField(choices=[("", "No role")] + [(r.key, r.label) for r in ROLES], required=False)


# --- mitras and clients ------------------------------------------------------------------


class MitraForm(forms.Form):
    phone = forms.CharField(max_length=20, help_text="E.164, e.g. +628123456789 (08… is accepted).")
    display_name = forms.CharField(max_length=80)
    bio = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
    photo_url = forms.URLField(required=False, max_length=200)

    @classmethod
    def for_mitra(cls, mitra: Mitra, data=None) -> MitraForm:
        initial = {
            "phone": mitra.phone,
            "display_name": mitra.display_name,
            "bio": mitra.bio,
            "photo_url": mitra.photo_url,
        }
        return cls(data=data, initial=initial)


class BlockForm(forms.Form):
    reason = forms.CharField(required=False, max_length=200)


# --- sessions ----------------------------------------------------------------------------


class SessionFilterForm(forms.Form):
    state = forms.ChoiceField(required=False, choices=[("", "Any state")] + [(s, s) for s in SESSION_STATE_FILTERS])
    mitra = forms.CharField(
        required=False, max_length=80, widget=forms.TextInput(attrs={"placeholder": "Mitra name, phone or id"})
    )
    client = forms.CharField(
        required=False, max_length=80, widget=forms.TextInput(attrs={"placeholder": "Client name or id"})
    )
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    flagged = forms.BooleanField(required=False, label="Flagged only")

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "state": data["state"],
            "mitra": data["mitra"].strip(),
            "client": data["client"].strip(),
            "day": data["day"],
            "flagged": data["flagged"],
        }


class _MitraWithLoad(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        if hasattr(obj, "live_load"):
            return f"{obj.display_name} — {obj.live_load} live · {obj.flagged_load} flagged"
        return obj.display_name


class RerouteForm(forms.Form):
    to_mitra = _MitraWithLoad(
        queryset=Mitra.objects.none(), label="New mitra", empty_label="Choose an available mitra"
    )

    def __init__(self, *args, available=None, **kwargs):
        super().__init__(*args, **kwargs)
        if available is not None:
            self.fields["to_mitra"].queryset = available


class ForceCloseForm(forms.Form):
    note = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why staff closes this session (kept with the closure).",
    )


# --- platform settings -------------------------------------------------------------------

SETTINGS_GROUPS = [
    ("Anonymity", ["client_identity_for_mitra", "anonymous_trial_allowed"]),
    (
        "Pairing and presence",
        ["max_customers_per_mitra", "pairing_timeout", "heartbeat_interval", "auto_offline_after"],
    ),
    ("Session", ["goodbye_window", "ending_soon_warnings", "mitra_can_end_early", "client_can_end_early"]),
    ("Billing", ["free_trial_enabled", "free_trial_minutes", "payment_timeout", "extension_timeout"]),
    (
        "Care and safety",
        [
            "mitra_no_show_after",
            "mitra_grace_period",
            "preferred_mitra_window",
            "mitra_daily_session_cap",
            "pause_after_flagged_minutes",
            "crisis_resources_text",
        ],
    ),
]
SETTINGS_HELP = {
    "client_identity_for_mitra": "What mitras see of a client.",
    "anonymous_trial_allowed": "May an anonymous (unregistered) client use the free trial?",
    "max_customers_per_mitra": "Live sessions one mitra may hold at once.",
    "pairing_timeout": "Seconds a request searches before it expires (\u201cno bestie\u201d).",
    "heartbeat_interval": "Seconds between heartbeats the mitra app is told to send.",
    "auto_offline_after": "Seconds without a heartbeat before a mitra is set offline.",
    "goodbye_window": "Seconds of the closing (goodbye) window.",
    "ending_soon_warnings": "Seconds before the end to warn, comma-separated (e.g. 300,60).",
    "mitra_can_end_early": "Mitras may end a session early.",
    "client_can_end_early": "Clients may end a session early.",
    "free_trial_enabled": "Offer the free trial.",
    "free_trial_minutes": "Length of the free trial in minutes.",
    "payment_timeout": "Seconds to pay a session or extension invoice.",
    "extension_timeout": "Seconds a mitra has to answer an extension request.",
    "mitra_no_show_after": (
        "Seconds a mitra newly assigned to a paid, started session has to write before it is rerouted."
    ),
    "mitra_grace_period": (
        "Seconds a mitra set offline automatically (no heartbeats) while holding live sessions has to come "
        "back (online, a heartbeat or a message) before those sessions are rerouted."
    ),
    "preferred_mitra_window": "Seconds a \u201creturn to my previous mitra\u201d request waits for that mitra alone.",
    "mitra_daily_session_cap": "Sessions one mitra may take per day (0 = no cap).",
    "pause_after_flagged_minutes": "Minutes a mitra gets no new offers after a flagged session closes.",
    "crisis_resources_text": "Sent to a client whose message is flagged (Indonesian crisis resources).",
}


def settings_groups() -> list[tuple[str, list[str]]]:
    """The groups shown, limited to keys the settings service knows; any key not placed in
    a group still appears, under "Other", so a new setting is never uneditable."""
    known = set(SETTINGS_KEYS)
    groups = [(title, [k for k in keys if k in known]) for title, keys in SETTINGS_GROUPS]
    placed = {k for _, keys in groups for k in keys}
    other = [k for k in SETTINGS_KEYS if k not in placed]
    return [(title, keys) for title, keys in groups + [("Other", other)] if keys]


def _settings_field(key: str) -> forms.Field:
    model_field = PlatformSettings._meta.get_field(key)
    label = key.replace("_", " ").capitalize()
    help_text = SETTINGS_HELP.get(key, "")
    kind = model_field.get_internal_type()
    if kind == "BooleanField":
        return forms.BooleanField(required=False, label=label, help_text=help_text)
    if kind in ("PositiveIntegerField", "PositiveSmallIntegerField"):
        return forms.IntegerField(min_value=0, label=label, help_text=help_text)
    if model_field.choices:
        return forms.ChoiceField(choices=model_field.choices, label=label, help_text=help_text)
    if kind == "TextField":
        return forms.CharField(
            max_length=model_field.max_length,
            label=label,
            help_text=help_text,
            widget=forms.Textarea(attrs={"rows": 4}),
        )
    return forms.CharField(max_length=model_field.max_length, label=label, help_text=help_text)


class PlatformSettingsForm(forms.Form):
    """Every key of product.md's table, grouped; bounds are the service's to check."""

    def __init__(self, *args, row: PlatformSettings, read_only: bool = False, **kwargs):
        self._groups = settings_groups()
        kwargs.setdefault("initial", {key: getattr(row, key) for _, keys in self._groups for key in keys})
        super().__init__(*args, **kwargs)
        for _, keys in self._groups:
            for key in keys:
                self.fields[key] = _settings_field(key)
                self.fields[key].disabled = read_only

    def groups(self) -> list[tuple[str, list]]:
        return [(title, [self[key] for key in keys]) for title, keys in self._groups]

    def changes(self) -> dict:
        return {key: self.cleaned_data[key] for _, keys in self._groups for key in keys}


# --- tiers, transactions, audit ----------------------------------------------------------


class TierForm(forms.Form):
    kind = forms.ChoiceField(choices=Tier.Kind.choices)
    name = forms.CharField(max_length=60)
    minutes = forms.IntegerField(min_value=1, max_value=24 * 60)
    price = forms.IntegerField(min_value=0, max_value=100_000_000, help_text="IDR")
    sort_order = forms.IntegerField(min_value=0, max_value=32767, initial=0)

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            # A tier's kind is fixed once it exists: sessions and requests point at it.
            del self.fields["kind"]

    @classmethod
    def for_tier(cls, tier: Tier, data=None) -> TierForm:
        initial = {"name": tier.name, "minutes": tier.minutes, "price": tier.price, "sort_order": tier.sort_order}
        return cls(data=data, initial=initial, editing=True)


class TransactionFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Transaction.Status.choices])
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *Transaction.Kind.choices])
    day = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        return {
            "status": self.cleaned_data["status"],
            "kind": self.cleaned_data["kind"],
            "day": self.cleaned_data["day"],
        }


class NoteForm(forms.Form):
    note = forms.CharField(max_length=300)


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(required=False)
    target = forms.CharField(
        required=False, max_length=110, widget=forms.TextInput(attrs={"placeholder": "type:id, id or type"})
    )
    actor = forms.CharField(
        required=False, max_length=150, widget=forms.TextInput(attrs={"placeholder": "Staff email"})
    )

    def __init__(self, *args, actions: list[str] = (), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "Any action"), *[(a, a) for a in actions]]

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        return {key: self.cleaned_data[key].strip() for key in ("action", "target", "actor")}


class ReportFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=REPORT_FILTERS)

    def status_filter(self) -> str:
        return self.cleaned_data["status"] if self.is_valid() else ""


class ReportUpdateForm(forms.Form):
    status = forms.ChoiceField(choices=SessionReport.Status.choices)
    resolution_note = forms.CharField(required=False, max_length=1000)
