"""Demo data (DESIGN §5): two customer organisations, provider staff, three months of tickets.

Idempotent: users and organisations are looked up by their natural keys, and tickets are only
generated when the organisation has none yet.
"""

import random
from datetime import date, timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from escalation.models import Notification, NotificationStatus
from pim.models import Location, Membership, Organization, Role, Service, User
from pim.security import twofactor
from sla import services as sla_services
from sla.models import ClockEvent, Contract
from sla.services import default_policy
from tickets import services
from tickets.models import AuditEntry, Status, Ticket, TicketUpdate

DEMO_PASSWORD = "demo"

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


def _backdate(ticket, reported, rng):
    """Services stamp `now`; spread a generated ticket's history over its own past instead."""
    responded = reported + timedelta(minutes=rng.randint(5, 90))
    resolved = responded + timedelta(hours=rng.randint(1, 30))
    closed = resolved + timedelta(hours=rng.randint(2, 48))
    moments = [reported, responded, responded + timedelta(minutes=2), resolved, closed]
    ticket.refresh_from_db()
    fields = {
        name: moment
        for name, moment in (
            ("responded_at", responded),
            ("resolved_at", resolved),
            ("closed_at", closed),
        )
        if getattr(ticket, name)
    }
    Ticket.objects.filter(pk=ticket.pk).update(**fields)
    TicketUpdate.objects.filter(ticket=ticket).update(created_at=moments[2])
    entries = AuditEntry.objects.filter(ticket=ticket).order_by("pk").values_list("pk", flat=True)
    for i, pk in enumerate(entries):
        AuditEntry.objects.filter(pk=pk).update(at=moments[min(i, len(moments) - 1)])
    # The clock ledger follows the same history, then the clocks are derived again.
    event_at = {
        "registered": reported,
        "responded": responded,
        "paused": moments[2],
        "resolved": resolved,
        "closed": closed,
    }
    for kind, moment in event_at.items():
        ClockEvent.objects.filter(ticket=ticket, kind=kind).update(at=moment)
    ticket.refresh_from_db()
    sla_services.recompute(ticket)


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
            for _i in range(tickets):
                priority, title = rng.choice(TITLES)
                reported = now - timedelta(minutes=rng.randint(30, 90 * 24 * 60))
                reporter = rng.choice(users)
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
                age_days = (now - reported).days
                if age_days < 2 and rng.random() < 0.5:
                    _backdate(ticket, reported, rng)
                    continue  # leave some new tickets in the queue
                services.take(ticket, agent)
                services.add_update(
                    ticket,
                    agent,
                    "We hebben de melding in behandeling genomen en analyseren de oorzaak.",
                    next_actions="Logbestanden controleren en zo nodig een monteur inplannen.",
                )
                if age_days > 5:
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
                    if age_days > 10:
                        services.confirm_resolution(ticket, reporter)
                elif rng.random() < 0.3:
                    services.transition(
                        ticket,
                        agent,
                        Status.WAITING_FOR_CUSTOMER,
                        note="Kunt u aangeven sinds wanneer dit speelt?",
                    )
                _backdate(ticket, reported, rng)
        # The generated history is the past: its receipts and escalations count as delivered,
        # so a fresh `make run` does not mail three months of demo tickets.
        Notification.objects.filter(status=NotificationStatus.PENDING).update(
            status=NotificationStatus.SENT, sent_at=timezone.now()
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready ({created_tickets} new tickets). Logins (password '{DEMO_PASSWORD}'): "
                "acme.user, acme.contact, globex.user, globex.contact, agent, oncall, csm, "
                "opsmanager, director, admin"
                + (
                    f"; staff codes: oathtool --totp -b {twofactor.DEMO_TOTP_SECRET}"
                    if settings.DEMO_MODE
                    else "; staff set up two-factor login at their first login"
                )
            )
        )
