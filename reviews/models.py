"""The post-incident review of a P1 incident (SPEC §3.3, issue 16 item 5) and its actions."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from tickets.models import Ticket

ReviewManager = ScopedManager(organization="ticket__organization").__class__
ActionManager = ScopedManager(organization="review__ticket__organization").__class__


class PostIncidentReview(models.Model):
    """One per P1 incident: filed by provider staff (the PIR reminders stop), read by the
    organisation's authorised contacts once published."""

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, related_name="review", verbose_name=_("ticket")
    )
    timeline = models.TextField(_("timeline"))
    cause = models.TextField(_("cause"))
    impact = models.TextField(_("impact"))
    went_well = models.TextField(_("what went well"), blank=True)
    went_wrong = models.TextField(_("what went wrong"), blank=True)
    published = models.BooleanField(_("published"), default=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    filed_at = models.DateTimeField(_("filed at"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("author"),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    objects = ReviewManager()

    class Meta:
        verbose_name = _("post-incident review")
        verbose_name_plural = _("post-incident reviews")

    def __str__(self):
        return f"PIR {self.ticket_id}"


class ReviewAction(models.Model):
    """An improvement the review agreed on: who does it by when; tracked until done."""

    review = models.ForeignKey(PostIncidentReview, on_delete=models.CASCADE, related_name="actions")
    description = models.TextField(_("action"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="review_actions",
        verbose_name=_("owner"),
    )
    due = models.DateField(_("due"))
    done = models.BooleanField(_("done"), default=False)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    # the due date its owner was last reminded of (reviews.notifications: once per due date)
    reminded_for = models.DateField(null=True, blank=True, editable=False)

    objects = ActionManager()

    class Meta:
        ordering = ["due", "pk"]
        verbose_name = _("review action")
        verbose_name_plural = _("review actions")
        indexes = [models.Index(fields=["done", "due"])]

    def __str__(self):
        return self.description[:60]
