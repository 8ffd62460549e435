"""The editor's note as the emails carried it: recorded when digests are rendered to send.

A day's note can be written or edited after its digests went out. The send step
records the text it put in each email (subscriptions.SentNote, one row per version,
linked from Digest.sent_note) so the admin's preview of a sent digest shows what
was sent, not the note as it reads today.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from django.db import IntegrityError, transaction

from subscriptions.models import Digest, SentNote


def sent_note_id(*, digest_date: dt.date, body: str) -> int:
    """The id of the SentNote row holding this version of the day's note, made if new.

    Safe under races: two workers recording the same version meet on the unique
    (date, checksum) constraint and both get the one row. One SELECT when it exists
    (once per batch of BATCH_SIZE digests, not per email).
    """
    checksum = hashlib.sha256(body.encode()).hexdigest()
    try:
        with transaction.atomic():
            row, _ = SentNote.objects.get_or_create(digest_date=digest_date, checksum=checksum,
                                                    defaults={"body": body})
    except IntegrityError:  # another worker created it between our read and our insert
        row = SentNote.objects.get(digest_date=digest_date, checksum=checksum)
    return row.pk


def digests_sent_note_set(*, claim: dict, note_bodies: dict[dt.date, str]) -> None:
    """Link the claimed digests of each day to the note text their emails carry: one UPDATE a day.

    `claim` filters exactly the batch's rows (the send step's claim: id range and stamp).
    """
    for day, body in note_bodies.items():
        Digest.objects.filter(digest_date=day, **claim).update(sent_note_id=sent_note_id(digest_date=day, body=body))
