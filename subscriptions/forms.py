"""Sign-up, "email me a link" and preference forms. All validation lives here
(and in the value functions of services.subscribers that the forms call), so a
bad value is a message next to its field and nothing is stored.
"""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms
from django.core.exceptions import ValidationError

from .models import Subscriber
from .services.preferences import MAX_AUTHOR_LENGTH, MAX_AUTHORS, AuthorInput, authors_parse, exclusions_parse
from .services.subscribers import (
    MAX_EMAIL_LENGTH,
    MAX_KEYWORD_LENGTH,
    MAX_KEYWORDS,
    KeywordInput,
    email_normalize,
    keywords_parse,
)

# The whole keyword box: 20 keywords of 100 characters plus separators, with
# room for spaces. Anything longer is refused before it is parsed.
MAX_KEYWORDS_FIELD = MAX_KEYWORDS * (MAX_KEYWORD_LENGTH + 2) + 200

COMMON_TIMEZONES = [
    "Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Denver", "America/Chicago",
    "America/New_York", "America/Halifax", "America/Mexico_City", "America/Bogota", "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires", "UTC", "Europe/London", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin",
    "Europe/Madrid", "Europe/Rome", "Europe/Amsterdam", "Europe/Zurich", "Europe/Stockholm", "Europe/Warsaw",
    "Europe/Athens", "Europe/Helsinki", "Europe/Istanbul", "Europe/Moscow", "Africa/Lagos", "Africa/Cairo",
    "Africa/Johannesburg", "Africa/Nairobi", "Asia/Dubai", "Asia/Tehran", "Asia/Karachi", "Asia/Kolkata",
    "Asia/Dhaka", "Asia/Bangkok", "Asia/Jakarta", "Asia/Singapore", "Asia/Shanghai", "Asia/Hong_Kong",
    "Asia/Taipei", "Asia/Seoul", "Asia/Tokyo", "Australia/Perth", "Australia/Adelaide", "Australia/Brisbane",
    "Australia/Sydney", "Pacific/Auckland",
]

WEEKDAYS = [(0, "Monday"), (1, "Tuesday"), (2, "Wednesday"), (3, "Thursday"), (4, "Friday"), (5, "Saturday"),
            (6, "Sunday")]
HOURS = [(h, f"{h:02d}:00") for h in range(24)]


def timezone_valid(name: str) -> bool:
    """A real IANA zone name that zoneinfo can load (no paths, no junk)."""
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def timezone_choices(extra: str | None = None) -> list[tuple[str, str]]:
    """Common zones, ordered by their UTC offset now, labelled "(UTC+01:00) Europe/Berlin"."""
    names = list(COMMON_TIMEZONES)
    if extra and extra not in names and timezone_valid(extra):
        names.append(extra)
    now = datetime.now(UTC)

    def offset(name: str):
        return now.astimezone(ZoneInfo(name)).utcoffset()

    def label(name: str) -> str:
        minutes = int(offset(name).total_seconds() // 60)
        sign = "+" if minutes >= 0 else "−"
        return f"(UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}) {name.replace('_', ' ')}"

    return [(name, label(name)) for name in sorted(names, key=lambda n: (offset(n), n))]


class EmailAddressField(forms.CharField):
    """An email address: one line, IDN domains welcome, at most 254 characters."""

    widget = forms.EmailInput

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_EMAIL_LENGTH)
        kwargs.setdefault("error_messages", {
            "required": "Enter your email address.",
            "max_length": f"That address is too long: at most {MAX_EMAIL_LENGTH} characters.",
        })
        super().__init__(strip=False, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        # Line breaks are checked before trimming: "a@b.org\r\nBcc: …" is an
        # injection attempt, not an address with trailing whitespace.
        if "\r" in value or "\n" in value:
            raise ValidationError("Enter one email address, without line breaks.", code="header_injection")
        return value.strip()

    def clean(self, value):
        value = super().clean(value)
        if value in self.empty_values:
            return value
        try:
            return email_normalize(value)
        except ValidationError as exc:
            if exc.code == "invalid" or not exc.code:
                raise ValidationError("Enter a valid email address, like name@example.org.", code="invalid") from None
            raise


class KeywordsField(forms.CharField):
    """Comma- or newline-separated keywords → list[KeywordInput]."""

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", MAX_KEYWORDS_FIELD)
        kwargs.setdefault("error_messages", {
            "required": "Enter at least one keyword, for example “diffusion” or “speech recognition”.",
            "max_length": f"That is too much text: at most {MAX_KEYWORDS} keywords of {MAX_KEYWORD_LENGTH} characters.",
        })
        kwargs.setdefault("help_text", f"Separate keywords with commas or new lines. Up to {MAX_KEYWORDS}.")
        super().__init__(**kwargs)

    def clean(self, value) -> list[KeywordInput]:
        return keywords_parse(super().clean(value), required=self.required)


class ExclusionsField(KeywordsField):
    """Words to keep out: parsed like keywords (the same matcher decides), none is fine."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "A new paper that mentions one of these is left out. Up to 20.")
        super().__init__(**kwargs)

    def clean(self, value) -> list[KeywordInput]:
        return exclusions_parse(forms.CharField.clean(self, value))


class AuthorsField(forms.CharField):
    """One author per line → list[AuthorInput] (accents and initials do not matter)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", MAX_AUTHORS * (MAX_AUTHOR_LENGTH + 2))
        kwargs.setdefault("help_text", "One name per line. “Y. LeCun” and “Yann LeCun” are the same author.")
        super().__init__(**kwargs)

    def clean(self, value) -> list[AuthorInput]:
        return authors_parse(super().clean(value))


class HoneypotMixin(forms.Form):
    # Hidden from people by CSS and aria-hidden; bots that fill every field
    # fill this one. A filled honeypot gets the normal answer and does nothing.
    website = forms.CharField(required=False, max_length=200, label="Leave this empty")

    def is_bot(self) -> bool:
        return bool(self.cleaned_data.get("website"))


class SubscribeForm(HoneypotMixin):
    email = EmailAddressField(label="Email address", widget=forms.EmailInput(attrs={
        "autocomplete": "email", "placeholder": "you@example.org", "inputmode": "email",
    }))
    # No keywords means "just the day's trending list" (the choice the form spells out).
    keywords = KeywordsField(label="Keywords", required=False, widget=forms.Textarea(attrs={
        "rows": 3, "placeholder": "diffusion, speech recognition, retrieval-augmented generation",
    }))
    plus_trending = forms.BooleanField(required=False, label="Also send me the day’s top 3 trending papers")
    # Filled by the page's script from the browser's time zone; a junk value
    # falls back to UTC silently (the person never saw this field).
    timezone = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)

    def clean_timezone(self) -> str:
        value = self.cleaned_data.get("timezone") or ""
        return value if timezone_valid(value) else "UTC"


class SendLinkForm(HoneypotMixin):
    email = EmailAddressField(label="Email address", widget=forms.EmailInput(attrs={
        "autocomplete": "email", "placeholder": "you@example.org", "inputmode": "email",
    }))


class PreferencesForm(forms.Form):
    # Left out of a post (an older page): the subscriber's current choice stays.
    trending = forms.ChoiceField(
        label="What to send", choices=Subscriber.Trending.choices, widget=forms.RadioSelect, required=False,
        error_messages={"invalid_choice": "Choose what your digest should hold."},
    )
    keywords = KeywordsField(label="Keywords", required=False)
    exclusions = ExclusionsField(label="Keep out papers that mention")
    authors = AuthorsField(label="Authors you follow")
    frequency = forms.ChoiceField(
        label="How often", choices=Subscriber.Frequency.choices, widget=forms.RadioSelect,
        error_messages={"invalid_choice": "Choose daily or weekly."},
    )
    send_weekday = forms.TypedChoiceField(
        label="Weekly on", choices=WEEKDAYS, coerce=int, required=False, empty_value=0,
        error_messages={"invalid_choice": "Choose a day of the week."},
    )
    send_hour = forms.TypedChoiceField(
        label="At (your local time)", choices=HOURS, coerce=int,
        error_messages={"invalid_choice": "Choose an hour between 00:00 and 23:00."},
    )
    timezone = forms.CharField(label="Time zone", max_length=64)

    def __init__(self, *args, subscriber: Subscriber | None = None, **kwargs):
        if subscriber is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "trending": subscriber.trending,
                "keywords": "\n".join(k.text for k in subscriber.keywords.all()),
                "exclusions": "\n".join(e.text for e in subscriber.exclusions.all()),
                "authors": "\n".join(a.name for a in subscriber.followed_authors.all()),
                "frequency": subscriber.frequency,
                "send_weekday": subscriber.send_weekday,
                "send_hour": subscriber.send_hour,
                "timezone": subscriber.timezone,
            }
        super().__init__(*args, **kwargs)
        self.current_trending = subscriber.trending if subscriber is not None else Subscriber.Trending.OFF
        current = subscriber.timezone if subscriber is not None else None
        self.fields["timezone"].widget = forms.Select(choices=timezone_choices(current))

    def clean_timezone(self) -> str:
        value = self.cleaned_data["timezone"].strip()
        if not timezone_valid(value):
            raise ValidationError("Choose a time zone from the list.", code="invalid")
        return value

    def clean(self):
        data = super().clean()
        if "trending" in data and not data["trending"]:
            data["trending"] = self.current_trending
        if data.get("trending") not in (None, Subscriber.Trending.ONLY) and data.get("keywords") == []:
            self.add_error("keywords", ValidationError(
                "Enter at least one keyword, or choose “Just the day’s top 10 trending papers”.", code="required"))
        return data
