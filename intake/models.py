"""Every message that reached the service desk address, and what became of it."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

REASON_MAX = 2000  # the stored reason (the services truncate to it as well)


class InboundStatus(models.TextChoices):
    PROCESSED = "processed", _("Processed")
    HELD = "held", _("Held for triage")
    IGNORED = "ignored", _("Ignored")
    REJECTED = "rejected", _("Rejected")


def raw_message_path(instance, filename):
    # Stored under the default storage (outside the web root, never served); random name.
    now = timezone.now()
    return f"intake/{now:%Y/%m}/{uuid.uuid4().hex}.eml"


class InboundMessage(models.Model):
    """One received e-mail. The raw message is kept as a file (see services.store_raw for why);
    the parsed sender, subject and text are kept here for the triage page.

    Provider data: it names no organisation and only provider staff see it."""

    message_id = models.CharField(
        _("Message-ID"), max_length=255, null=True, blank=True, unique=True
    )
    # SHA-256 of the raw bytes: the duplicate check for messages without a Message-ID.
    digest = models.CharField(_("digest"), max_length=64, db_index=True, editable=False)
    in_reply_to = models.CharField(_("In-Reply-To"), max_length=255, blank=True)
    from_address = models.CharField(_("from"), max_length=254, blank=True)
    from_name = models.CharField(_("sender name"), max_length=200, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body = models.TextField(_("text"), blank=True)
    attachments = models.JSONField(
        _("attachments"), default=list, blank=True, help_text=_("Name, type and size per file.")
    )
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now, db_index=True)
    status = models.CharField(_("status"), max_length=12, choices=InboundStatus.choices)
    reason = models.TextField(_("reason"), blank=True)
    # The system's reason in every language of the portal ({"en": …, "nl": …}); pages show the
    # reader's (`reason_text`). `reason` keeps the text in the language of the moment.
    reason_i18n = models.JSONField(
        _("reason per language"), default=dict, blank=True, editable=False
    )
    raw = models.FileField(upload_to=raw_message_path, max_length=200, blank=True)
    raw_size = models.PositiveBigIntegerField(_("size"), default=0)
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("sender (user)"),
    )
    ticket = models.ForeignKey(
        "tickets.Ticket",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="inbound_messages",
        verbose_name=_("ticket"),
    )
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("triaged by"),
    )
    triaged_at = models.DateTimeField(_("triaged"), null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("inbound e-mail")
        verbose_name_plural = _("inbound e-mails")
        indexes = [models.Index(fields=["status", "-received_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["digest"],
                condition=models.Q(message_id__isnull=True),
                name="inbound_digest_unique_without_message_id",
            )
        ]

    def __str__(self):
        return f"{self.from_address}: {self.subject}"

    @property
    def reason_text(self):
        """The reason in the reader's language (issue 12 item 6)."""
        return self.reason_i18n.get(translation.get_language() or "") or self.reason

    def set_reason(self, render):
        """Store what `render()` says, rendered once per language of the portal."""
        texts = {}
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                texts[code] = str(render())[:REASON_MAX]
        self.reason_i18n = texts
        # `reason`: the text in the language of the moment (as before), for the admin and logs
        current = translation.get_language() or settings.LANGUAGE_CODE
        self.reason = texts.get(current) or texts.get(settings.LANGUAGE_CODE, "")
