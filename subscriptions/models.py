"""Who wants what, and the record of every digest we built for them.

Field names here are a contract (docs/architecture.md, "Data model"): tools outside the code read them.
"""
from __future__ import annotations

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Value
from django.db.models.functions import Lower


class Subscriber(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained (spam report)"

    class Frequency(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    class Trending(models.TextChoices):
        # What a digest holds: keyword matches, those plus the day's top 3 trending,
        # or just the day's trending list (a sign-up with no keywords).
        OFF = "off", "Only the papers that match my keywords"
        TOP3 = "top3", "My keyword matches, plus the day’s top 3 trending papers"
        ONLY = "only", "Just the day’s top 10 trending papers"

    email = models.EmailField(max_length=254)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    send_hour = models.PositiveSmallIntegerField(default=7, validators=[MaxValueValidator(23)],
                                                 help_text="Local hour, 0-23.")
    frequency = models.CharField(max_length=8, choices=Frequency.choices, default=Frequency.DAILY)
    send_weekday = models.PositiveSmallIntegerField(
        default=0, validators=[MaxValueValidator(6)], help_text="For weekly digests: 0 = Monday … 6 = Sunday."
    )
    trending = models.CharField(max_length=8, choices=Trending.choices, default=Trending.OFF)
    # Bumped to revoke every signed link sent so far ("sign out everywhere", delete).
    token_version = models.PositiveIntegerField(default=1)
    hard_bounces = models.PositiveSmallIntegerField(default=0)
    # Set in the signup's transaction when a confirmation email is owed; the
    # sending task clears it (its claim), so one the broker never got (Redis
    # down) is found and sent by the sweeper once the broker is back.
    confirmation_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_digest_on = models.DateField(null=True, blank=True, help_text="Date of the last digest built for them.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="subscriber_unique_email_ci"),
            models.CheckConstraint(condition=models.Q(send_hour__lte=23), name="subscriber_send_hour_0_23"),
        ]
        indexes = [models.Index(fields=["status", "send_hour"])]

    def __str__(self) -> str:
        return self.email


class Keyword(models.Model):
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="keywords")
    text = models.CharField(max_length=100, help_text="As the subscriber typed it.")
    normalized = models.CharField(max_length=200, help_text="The matcher's normalized form.")
    # What the subscriber switched off of what the keyword also matches: the keys of
    # papers.topics Alternatives ("convolutional neural network" for CNN, say).
    # db_default too: bulk writers that name their columns (COPY in the benchmark) need not know it.
    disabled_expansions = models.JSONField(
        default=list, blank=True, db_default=Value([], output_field=models.JSONField())
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "normalized"], name="keyword_unique_per_subscriber"),
        ]
        indexes = [models.Index(fields=["normalized"])]

    def __str__(self) -> str:
        return self.text


class Exclusion(models.Model):
    """A word to keep out: a new paper it matches (papers.search) is left out of the digest."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="exclusions")
    text = models.CharField(max_length=100, help_text="As the subscriber typed it.")
    normalized = models.CharField(max_length=200, help_text="The matcher's normalized form.")

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "normalized"], name="exclusion_unique_per_subscriber"),
        ]

    def __str__(self) -> str:
        return self.text


class FollowedAuthor(models.Model):
    """An author a subscriber follows: their new papers come in the digest, marked as such."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="followed_authors")
    name = models.CharField(max_length=200, help_text="As the subscriber typed it.")
    # subscriptions.authors.author_key: accents folded, first initial + surname ("y lecun").
    key = models.CharField(max_length=200)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "key"], name="followed_author_unique_per_subscriber"),
        ]
        indexes = [models.Index(fields=["key"])]

    def __str__(self) -> str:
        return self.name


class Vote(models.Model):
    """"More like this" (+1) or "fewer like this" (-1) on one paper: it retunes that reader's ranking."""

    class Value(models.IntegerChoices):
        MORE = 1, "More like this"
        FEWER = -1, "Fewer like this"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="votes")
    paper = models.ForeignKey("papers.Paper", on_delete=models.CASCADE, related_name="+")
    value = models.SmallIntegerField(choices=Value.choices)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One opinion per paper: voting again replaces it (an upsert, never two rows).
            models.UniqueConstraint(fields=["subscriber", "paper"], name="vote_unique_per_subscriber_and_paper"),
            models.CheckConstraint(condition=models.Q(value__in=[1, -1]), name="vote_value_plus_or_minus_one"),
        ]

    def __str__(self) -> str:
        return f"{self.get_value_display()}: {self.paper_id} for {self.subscriber_id}"


class SentNote(models.Model):
    """The editor's note of a day as digests carried it: one row per version that went out.

    The daily note can be written or changed after a day's digests were sent; a sent
    digest's admin preview shows the version its email had (Digest.sent_note).
    """

    digest_date = models.DateField()
    body = models.TextField(blank=True, help_text="The Markdown as sent; empty: the emails had no note.")
    # sha256 of body: a long body cannot sit in a unique index, its hash can.
    checksum = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["digest_date", "checksum"], name="sentnote_unique_per_day_and_text"),
        ]

    def __str__(self) -> str:
        return f"Note of {self.digest_date} as sent ({self.checksum[:8]})"


class Digest(models.Model):
    """One digest per subscriber per date: the idempotency key for delivery."""

    class Status(models.TextChoices):
        READY = "ready", "Ready"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped (nothing new)"

    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="digests")
    digest_date = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.READY)
    # Paper ids in the order they are shown (best first). A JSON list, not a
    # many-to-many table, so a day's digests are written in one bulk insert.
    papers = models.JSONField(default=list, blank=True)
    # {paper_id: [keyword text, ...]}: why each paper is in this digest.
    matches = models.JSONField(default=dict, blank=True)
    # {paper_id: [exact words matched, ...]}: what the email highlights (KeywordMatch.terms).
    terms = models.JSONField(default=dict, blank=True)
    # {paper_id: why it is here when no keyword put it there}: "trending" (the day's
    # trending list, or its top 3 added) or "author:<name as the reader typed it>".
    reasons = models.JSONField(default=dict, blank=True)
    # How many new papers matched in all; `papers` holds the ones the email shows.
    matched_count = models.PositiveIntegerField(default=0)
    message_id = models.CharField(max_length=255, blank=True)
    # The editor's note as this digest's email carried it (set when it is rendered to send).
    sent_note = models.ForeignKey(SentNote, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-digest_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["subscriber", "digest_date"], name="digest_unique_per_subscriber_and_date"),
        ]
        indexes = [models.Index(fields=["digest_date", "status"])]

    def __str__(self) -> str:
        return f"Digest {self.digest_date} for {self.subscriber_id} ({self.status})"


class DeliveryEvent(models.Model):
    """What a mail provider told us about a message: bounces, complaints, unsubscribes."""

    class Kind(models.TextChoices):
        BOUNCED = "bounced", "Hard bounce"
        DEFERRED = "deferred", "Soft bounce / deferred"
        COMPLAINED = "complained", "Spam complaint"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed at provider"
        DELIVERED = "delivered", "Delivered"
        REJECTED = "rejected", "Rejected"
        OTHER = "other", "Other"

    subscriber = models.ForeignKey(Subscriber, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    email = models.EmailField(max_length=254)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    provider = models.CharField(max_length=32, blank=True)
    provider_event_id = models.CharField(max_length=255, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    occurred_at = models.DateTimeField()
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at"]
        constraints = [
            # Providers retry webhooks; the same event must count once.
            models.UniqueConstraint(
                fields=["provider", "provider_event_id"],
                condition=~models.Q(provider_event_id=""),
                name="delivery_event_unique_provider_id",
            ),
        ]
        indexes = [models.Index(fields=["occurred_at", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.email} at {self.occurred_at:%Y-%m-%d %H:%M}"
