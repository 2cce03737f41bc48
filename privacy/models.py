"""The privacy log: every anonymisation run and every export of a person's data."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class PrivacyAction(models.TextChoices):
    ANONYMISED = "anonymised", _("Anonymised (retention period passed)")
    ERASED = "erased", _("Anonymised on request")
    EXPORTED = "exported", _("Personal data exported")


class PrivacyEvent(models.Model):
    """Who did what with whose personal data, when. Holds references and counts, never the
    personal data itself (ASVS 8.3.5)."""

    action = models.CharField(_("action"), max_length=12, choices=PrivacyAction.choices)
    at = models.DateTimeField(_("at"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
        help_text=_("Empty for the scheduled task and management commands."),
    )
    via = models.CharField(_("via"), max_length=40)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("person"),
    )
    subject_label = models.CharField(_("person (as it was)"), max_length=150, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("privacy event")
        verbose_name_plural = _("privacy log")

    def __str__(self):
        return f"{self.get_action_display()} · {self.at:%Y-%m-%d %H:%M}"


class AnonymisedTicket(models.Model):
    """A ticket whose personal data is gone (so a run never does it twice)."""

    ticket = models.OneToOneField(
        "tickets.Ticket",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
        verbose_name=_("ticket"),
    )
    at = models.DateTimeField(_("anonymised at"))
    event = models.ForeignKey(
        PrivacyEvent, on_delete=models.PROTECT, related_name="tickets", verbose_name=_("event")
    )

    class Meta:
        verbose_name = _("anonymised ticket")
        verbose_name_plural = _("anonymised tickets")

    def __str__(self):
        return f"{self.ticket_id} anonymised {self.at:%Y-%m-%d}"
