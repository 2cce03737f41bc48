"""Demo data (DESIGN §5): two customer organisations, provider staff, three months of tickets.

Idempotent: users and organisations are looked up by their natural keys, and tickets are only
generated when the organisation has none yet. Each generated ticket lives its history through the
services, every step at its own moment (`_at`), so its header, audit trail and clock ledger tell
the same times; then the SLA sweep runs once, as the first worker start would (SLA events of the
history, escalations only for the open tickets that are late), the history's mails count as
sent, and each user's bell keeps only the last few notifications unread.
"""

import random
from contextlib import contextmanager
from datetime import date, timedelta
from unittest import mock

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from demo.availability import seed_levels, seed_outages
from demo.billing import seed_billing, seed_bundle, seed_time
from demo.changes import seed_changes
from demo.problems import seed_problems
from demo.reports import seed_reports
from demo.reviews import seed_review
from demo.sla_documents import seed_sla_documents
from escalation.models import Channel, Notification, NotificationStatus
from pim.models import Location, Membership, Organization, Role, Service, User
from pim.security import twofactor
from sla.models import Contract
from sla.services import default_policy
from sla.sweep import sweep
from tickets import services
from tickets.models import CannedResponse, Status, Ticket

DEMO_PASSWORD = "demo"
UNREAD_PER_USER = 3  # the bell of a demo user shows the last few notifications unread

ORGANISATIONS = [
    {
        "name": "Acme Zorg",
        "slug": "acme",
        "phone": "+31 30 700 1000",
        "window": "office_hours",
        "services": [("telefonie", "Telefonie"), ("werkplek", "Werkplekbeheer"), ("netwerk", "Netwerk")],
        "locations": [("Hoofdkantoor Utrecht", "Stationsplein 1, Utrecht"), ("Kliniek Zeist", "Slotlaan 12, Zeist")],
        "users": [("acme.user", "Anna", "de Vries", Role.CUSTOMER_USER),
                  ("acme.contact", "Bas", "Jansen", Role.AUTHORISED_CONTACT)],
    },
    {
        "name": "Globex Logistics",
        "slug": "globex",
        "phone": "+31 10 200 3000",
        "window": "24x7",
        "services": [("contactcenter", "Contactcenter"), ("datacenter", "Datacenter"), ("wan", "WAN-verbindingen")],
        "locations": [("Distributiecentrum Rotterdam", "Waalhaven 5, Rotterdam"), ("Hub Venlo", "Celsiusweg 3, Venlo")],
        "users": [("globex.user", "Chris", "Bakker", Role.CUSTOMER_USER),
                  ("globex.contact", "Dana", "Visser", Role.AUTHORISED_CONTACT)],
    },
]  # fmt: skip

STAFF = [
    ("agent", "Eva", "Smit", Role.AGENT),
    ("oncall", "Finn", "Mulder", Role.ONCALL),
    ("csm", "Greet", "de Boer", Role.CSM),
    ("opsmanager", "Hans", "Meijer", Role.OPS_MANAGER),
    ("director", "Iris", "de Groot", Role.OPS_DIRECTOR),
    ("admin", "Jan", "Bos", Role.ADMIN),
]

TITLES = [
    (1, "Telefooncentrale onbereikbaar, niemand kan bellen"),
    (2, "Meer dan de helft van de werkplekken heeft geen netwerk"),
    (3, "Wachtrij contactcenter valt af en toe weg"),
    (3, "Printer op de tweede verdieping werkt niet"),
    (4, "Headset van receptie kraakt"),
    (4, "Nieuwe medewerker kan niet inloggen op de softphone"),
    (3, "Voicemail-berichten komen niet aan in de mailbox"),
    (4, "Doorschakeling naar mobiel instellen werkt niet"),
    (2, "VPN-verbinding met de vestiging ligt eruit"),
    (3, "Traag netwerk op locatie"),
]

DESCRIPTIONS = [
    "Sinds vanochtend ervaren we dit probleem. Graag spoedig contact.",
    "Het probleem treedt op bij meerdere collega's. Herstarten helpt niet.",
    "Dit gebeurt sinds de update van gisteren. Zie ook eerdere melding.",
]


# Text modules for the composer (issue 15 item 3); admins keep them in the admin.
CANNED_RESPONSES = [
    ("Ontvangen, we kijken ernaar", "nl",
     "Beste {reporter_name},\n\nDank voor uw melding {ticket_number} ({ticket_title}). We zijn "
     "ermee bezig en laten u weten wat we vinden.\n\nMet vriendelijke groet,\n{agent_name}"),
    ("Graag meer informatie", "nl",
     "Beste {reporter_name},\n\nOm {ticket_number} verder te helpen hebben we meer nodig: sinds "
     "wanneer speelt het, wie merken het en wat is er al geprobeerd?\n\nGroet,\n{agent_name}"),
    ("Received, we are on it", "en",
     "Dear {reporter_name},\n\nThank you for reporting {ticket_number} ({ticket_title}). We are "
     "looking into it and will let you know what we find.\n\nKind regards,\n{agent_name}"),
    ("Please tell us more", "en",
     "Dear {reporter_name},\n\nTo move {ticket_number} forward we need more: since when does it "
     "happen, who notices it and what was tried already?\n\nRegards,\n{agent_name}"),
]  # fmt: skip


def _user(username, first, last, role, organization=None):
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "first_name": first,
            "last_name": last,
            "email": f"{username}@example.com",
            "is_staff": role == Role.ADMIN,
            "is_superuser": role == Role.ADMIN,
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    Membership.objects.update_or_create(
        user=user, defaults={"role": role, "organization": organization}
    )
    return user


@contextmanager
def _at(moment):
    """Replay one step of the generated history at its own moment: every stamp the services
    write (ticket header, audit trail, clock ledger, updates, notifications, escalations) reads
    the clock through `django.utils.timezone.now`, so they all tell the same time."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


def _history(reported, now, rng):
    """The moments of a generated ticket's life (None: not reached by now)."""
    age = now - reported
    responded = reported + timedelta(minutes=rng.randint(5, 90))
    leave_new = age < timedelta(days=2) and rng.random() < 0.5
    if leave_new or responded >= now - timedelta(minutes=5):
        return {}
    moments = {"responded": responded, "update": responded + timedelta(minutes=2)}
    if age > timedelta(days=3):
        resolved = responded + timedelta(hours=rng.randint(1, 30))
        if rng.random() < 0.2:  # restored with a workaround first, fixed for good later
            moments["workaround"] = responded + timedelta(minutes=rng.randint(20, 50))
        moments["resolved"] = resolved
        # Older tickets are confirmed; the others wait for it (the auto-close is days away).
        if age > timedelta(days=6):
            moments["closed"] = resolved + timedelta(hours=rng.randint(2, 48))
    elif rng.random() < 0.3:
        moments["waiting"] = responded + timedelta(minutes=rng.randint(10, 30))
    return {k: v for k, v in moments.items() if v < now}


def _live(ticket, reporter, agent, moments):
    """Take the ticket through its generated history, each step at its moment."""
    if "responded" not in moments:
        return
    with _at(moments["responded"]):
        services.take(ticket, agent)
    with _at(moments["update"]):
        services.add_update(
            ticket,
            agent,
            "We hebben de melding in behandeling genomen en analyseren de oorzaak.",
            next_actions="Logbestanden controleren en zo nodig een monteur inplannen.",
        )
    if "workaround" in moments:
        with _at(moments["workaround"]):
            services.record_workaround(
                ticket,
                agent,
                "Het verkeer loopt tijdelijk via de reserveverbinding; de definitieve "
                "oplossing volgt.",
                Status.PLANNED_INTERNAL,
            )
    if "resolved" in moments:
        with _at(moments["resolved"]):
            services.transition(
                ticket,
                agent,
                Status.RESOLVED,
                resolution={
                    "resolution_type": "definitive",
                    "resolution_cause": "Defecte configuratie na wijziging.",
                    "resolution_how": "Configuratie hersteld en getest met de klant.",
                    "resolution_follow_up": "Geen.",
                },
            )
    if "closed" in moments:
        with _at(moments["closed"]):
            services.confirm_resolution(ticket, reporter)
    if "waiting" in moments:
        with _at(moments["waiting"]):
            services.transition(
                ticket,
                agent,
                Status.WAITING_FOR_CUSTOMER,
                note="Kunt u aangeven sinds wanneer dit speelt?",
            )


def _read_all_but_the_latest(keep=UNREAD_PER_USER, now=None):
    """A demo user has read their notifications, except the last few."""
    now = now or timezone.now()
    unread = Notification.objects.filter(channel=Channel.IN_APP, read_at__isnull=True)
    for user_id in unread.values_list("recipient_id", flat=True).distinct():
        older = unread.filter(recipient_id=user_id).order_by("-created_at", "-pk")[keep:]
        Notification.objects.filter(pk__in=list(older.values_list("pk", flat=True))).update(
            read_at=now
        )


class Command(BaseCommand):
    help = "Create the demo organisations, users (password 'demo') and three months of tickets."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=60, help="tickets per organisation")
        parser.add_argument("--seed", type=int, default=42)

    @scopes_disabled()
    @transaction.atomic
    def handle(self, *args, tickets, seed, **options):
        rng = random.Random(seed)
        staff = [_user(*s) for s in STAFF]
        if settings.DEMO_MODE:  # staff sign in with a second factor: the documented demo secret
            for user in staff:
                twofactor.give_demo_authenticator(user)
        agent = staff[0]
        for title, language, body in CANNED_RESPONSES:
            CannedResponse.objects.get_or_create(
                title=title, language=language, defaults={"body": body}
            )
        created_tickets = 0
        for spec in ORGANISATIONS:
            org, _ = Organization.objects.get_or_create(
                slug=spec["slug"], defaults={"name": spec["name"], "phone": spec["phone"]}
            )
            services_ = [
                Service.objects.get_or_create(organization=org, code=code, defaults={"name": n})[0]
                for code, n in spec["services"]
            ]
            locations = [
                Location.objects.get_or_create(organization=org, name=n, defaults={"address": a})[0]
                for n, a in spec["locations"]
            ]
            users = [_user(u, f, last, role, org) for u, f, last, role in spec["users"]]
            if not Contract.objects.filter(organization=org).exists():
                Contract.objects.create(
                    organization=org,
                    policy=default_policy(),
                    service_window=spec["window"],
                    valid_from=date(2024, 1, 1),
                )
            if Ticket.objects.filter(organization=org).exists():
                continue
            now = timezone.now()
            # Filed in the order of their reporting, so the numbers follow the calendar.
            for reported in sorted(
                now - timedelta(minutes=rng.randint(30, 90 * 24 * 60)) for _i in range(tickets)
            ):
                priority, title = rng.choice(TITLES)
                reporter = rng.choice(users)
                with _at(reported):
                    ticket = services.create_ticket(
                        actor=reporter,
                        title=title,
                        description=rng.choice(DESCRIPTIONS),
                        priority=priority,
                        service=rng.choice(services_),
                        location=rng.choice(locations),
                        reported_at=reported,
                    )
                created_tickets += 1
                _live(ticket, reporter, agent, _history(reported, now, rng))
            if spec["slug"] == "acme":  # change requests in every stage of the change path
                contact = next(u for u in users if u.role == Role.AUTHORISED_CONTACT)
                manager = next(u for u in staff if u.role == Role.CSM)
                created_tickets += seed_changes(_at, org, contact, agent, manager, now)
                # a resolved P1 with its post-incident review filed and published
                ops = next(u for u in staff if u.role == Role.OPS_MANAGER)
                created_tickets += seed_review(_at, org, contact, agent, ops, now)
        seed_levels()  # every demo service's kind (and a connection's contracted target)
        # the SLA documents: the versions in force, and announced ones (a Major Change objected to)
        admin = next(u for u in staff if u.role == Role.ADMIN)
        created_versions = seed_sla_documents(_at, admin, timezone.now())
        if created_tickets:
            # outages of Acme's telephony and Globex's datacenter (availability)
            created_tickets += seed_outages(_at, agent, timezone.now())
            # a problem raised from incidents of both organisations, with its known error
            follower = User.objects.get(username="acme.contact")
            created_tickets += seed_problems(_at, agent, follower, timezone.now())
            # Acme's hour bundle, then time on Acme's tickets, within the SLA and billable
            # (billing): the billable small work draws from the bundle
            seed_bundle(User.objects.get(username="csm"), follower, timezone.now())
            seed_time(agent, timezone.now())
            # rates per year, and Acme's last month closed by the CSM (final overview)
            seed_billing(User.objects.get(username="csm"), agent, timezone.now())
            # What the SLA sweep finds now (SLA events of the history, escalations of the open
            # tickets that are late, reminders), as the first worker start would.
            # at one frozen moment, so what it does (an auto-close, its note) shares that time
            swept = timezone.now()
            with _at(swept):
                sweep(swept)
            # last month's SLA report of each organisation, as the monthly task makes them
            seed_reports(timezone.now())
            # The generated history is the past: its mails count as delivered, so a fresh
            # `make run` does not mail three months of demo tickets, and the bell shows only
            # the last few of each user's notifications as unread.
            Notification.objects.filter(status=NotificationStatus.PENDING).update(
                status=NotificationStatus.SENT, sent_at=timezone.now()
            )
            _read_all_but_the_latest()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready ({created_tickets} new tickets, {created_versions} SLA document "
                "versions). Logins (password '{DEMO_PASSWORD}'): "
                "acme.user, acme.contact, globex.user, globex.contact, agent, oncall, csm, "
                "opsmanager, director, admin"
                + (
                    f"; staff codes: oathtool --totp -b {twofactor.DEMO_TOTP_SECRET}"
                    if settings.DEMO_MODE
                    else "; staff set up two-factor login at their first login"
                )
            )
        )
