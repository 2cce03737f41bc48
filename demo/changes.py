"""Demo change requests (issue 16): one in every stage of the change path, for Acme Zorg, each
step taken through the change services at its own moment, so pages, clocks and notices agree."""

from datetime import timedelta

from changes import services as change_services
from tickets import services as ticket_services

# (title, type, the steps taken, days ago it was filed)
CHANGES = [
    ("Nieuw toestel voor de receptie", None, [], 0),
    ("Doorschakeling na 18:00 naar de dienstdoende arts", "medium", [], 1),
    # the quote is a draft the customer does not see yet
    ("Koppeling agenda-app met de telefonie", "exceptional", ["verify", "draft"], 2),
    ("Extra wachtrij voor de polikliniek", "medium", ["quote"], 3),
    ("Wifi in de nieuwe vergaderzaal", "medium", ["quote", "approve"], 5),
    ("Nieuwe keuzemenu's voor de huisartsenpost", "medium", ["quote", "approve", "plan"], 8),
    ("Migratie naar de nieuwe telefooncentrale", "large",
     ["quote", "approve", "provider_approve", "plan", "start", "progress", "progress"], 20),
    # filed by an authorised contact: a standard change is approved by the request itself
    # (recent: it waits for the customer's confirmation, the auto-close is days away)
    ("Voicemailbegroeting aanpassen", "standard", ["complete"], 1),
    ("Tweede internetlijn voor Zeist", "medium",
     ["quote", "approve", "plan", "start", "complete", "confirm"], 30),
    ("Opnemen van alle gesprekken", "exceptional", ["quote", "reject"], 15),
    ("Fax naar e-mail", "medium", ["cancel"], 25),
    # small changes (seed 004): the estimate decides the route
    ("Extra veld in het contactformulier", "medium", ["estimate:90"], 2),  # the estimate waits
    # under 45 minutes: done at once, on the acceptance environment, approved, to production
    ("Openingstijden op de website aanpassen", "medium", ["estimate:30", "offer"], 1),
    ("Nieuwe tekst op de homepage", "medium", ["estimate:20", "offer", "approve"], 3),
]  # fmt: skip


def seed_changes(at, organization, contact, agent, manager, now):
    """File and move the demo changes; `at(moment)` replays a step at its moment."""
    made = 0
    for title, type_, steps, days in CHANGES:
        filed = now - timedelta(days=days, hours=2)
        with at(filed):
            ticket = ticket_services.create_ticket(
                actor=contact,
                kind="change",
                title=title,
                description=f"{title}: graag uitvoeren zoals besproken.",
                priority=4,
            )
            change_services.describe(ticket, contact, why="Wens van de afdeling.")
        made += 1
        moment = filed + timedelta(hours=1)
        if type_ is not None:
            with at(moment):
                change_services.act(ticket, agent, "classify", {"type": type_, "reason": "Demo"})
        for step in steps:
            moment += timedelta(hours=3)
            with at(moment):
                _step(ticket, step, contact, agent, manager, moment, now, steps[-1] == step)
    return made


def _step(ticket, step, contact, agent, manager, moment, now, last):
    if step.startswith("estimate:"):
        minutes = int(step.split(":")[1])
        data = {"estimate_minutes": minutes, "note": "Bestaande website, korte klus."}
        change_services.act(ticket, agent, "estimate", data)
        return
    if step == "confirm":
        ticket.refresh_from_db()
        ticket_services.confirm_resolution(ticket, contact)
        return
    who = {"approve": contact, "reject": contact, "provider_approve": manager}.get(step, agent)
    data = {
        "verify": {"note": "Inhoud gecontroleerd, leverancier geraadpleegd."},
        "quote": {"free": False, "amount": 850},
        "draft": {"free": False, "amount": 1200, "draft": True},
        "progress": {"note": "Nummerplan overgezet; de volgende fase loopt volgens plan."},
        "reject": {"note": "Te duur."},
        # the change that waits in "planned" has its window ahead; the others had theirs
        "plan": _window(now + timedelta(days=2), 4) if last else _window(moment, 1),
        "complete": {"note": "Uitgevoerd en getest."},
        "offer": {"note": "Staat klaar op de acceptatieomgeving."},
        "cancel": {"reason": "Niet meer nodig."},
    }.get(step, {})  # fmt: skip
    change_services.act(ticket, who, "quote" if step == "draft" else step, data)


def _window(start, hours):
    start = start + timedelta(hours=1)
    return {"planned_start": start, "planned_end": start + timedelta(hours=hours)}
