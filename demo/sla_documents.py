"""The demo's SLA documents (issue 18 item 5): per organisation the version in force; for Acme
an announced Major Change (a longer P3 resolution) to which its authorised contact objected,
for Globex an announced version without new targets. Idempotent: a version is registered once
per contract and number."""

from datetime import datetime, time, timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from sla import documents, majorchange
from sla.documents import add_months
from sla.models import Contract, PolicyTarget, SlaDocumentVersion, SlaPolicy


def tiny_pdf(title: str) -> bytes:
    """A one-page PDF that says `title` (with a correct cross-reference table)."""
    text = title.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    stream = f"BT /F1 18 Tf 72 760 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _pdf(name, title):
    return ContentFile(tiny_pdf(title), name=name)


def _slower_policy(policy):
    """The policy of Acme's Major Change: the default with a P3 resolution of 64 instead of 48
    hours (its targets copied once)."""
    slower, created = SlaPolicy.objects.get_or_create(
        name=f"{policy.name} 2027",
        defaults={
            "office_calendar": policy.office_calendar,
            "always_calendar": policy.always_calendar,
            "always_priorities": policy.always_priorities,
            "at_risk_share": policy.at_risk_share,
        },
    )
    if created:
        for t in PolicyTarget.objects.filter(policy=policy):
            longer = t.kind == "incident" and t.priority == 3 and t.target == "resolution"
            PolicyTarget.objects.create(
                policy=slower,
                kind=t.kind,
                priority=t.priority,
                target=t.target,
                unit=t.unit,
                amount=t.amount * 4 // 3 if longer else t.amount,
                average_goal_minutes=t.average_goal_minutes,
                always_calendar=t.always_calendar,
            )
    return slower


def _register(at, contract, admin, moment, **fields):
    if SlaDocumentVersion.objects.filter(contract=contract, number=fields["number"]).exists():
        return None
    with at(moment):
        return documents.register_version(contract, admin, **fields)


def seed_sla_documents(at, admin, now):
    """Register the demo versions (none twice); returns how many were registered."""
    written = 0
    for contract in Contract.objects.select_related("organization", "policy"):
        org = contract.organization
        start = contract.valid_from
        announced = timezone.make_aware(
            datetime.combine(add_months(start, -4), time(10))
        )  # four months before the contract began
        in_force = _register(
            at,
            contract,
            admin,
            announced,
            number="1.0",
            date=announced.date(),
            description=f"SLA {org.name}: reactie-, herstel- en oplostijden per prioriteit.",
            document=_pdf(f"sla-{org.slug}-1.0.pdf", f"SLA {org.name} 1.0"),
            policy=contract.policy,
            effective_from=start,
        )
        written += in_force is not None
        # the next version, announced ten days ago, in force in four months
        notice = now - timedelta(days=10)
        effective = add_months(timezone.localdate(notice), 4).replace(day=1)
        if org.slug == "acme":
            upcoming = _register(
                at,
                contract,
                admin,
                notice,
                number="2.0",
                date=timezone.localdate(notice),
                description="Langere oplostijd voor P3-meldingen (64 in plaats van 48 uur).",
                document=_pdf(f"sla-{org.slug}-2.0.pdf", f"SLA {org.name} 2.0"),
                policy=_slower_policy(contract.policy),
                effective_from=effective,
            )
            if upcoming is not None and upcoming.route_state:
                contact = org.memberships.filter(role="authorised_contact").first()
                if contact is not None:
                    with at(now - timedelta(days=3)):
                        majorchange.object_to(
                            upcoming,
                            contact.user,
                            "Een langere oplostijd voor P3 past niet bij onze zorgprocessen.",
                        )
        else:
            upcoming = _register(
                at,
                contract,
                admin,
                notice,
                number="1.1",
                date=timezone.localdate(notice),
                description="Nieuwe contactpersonen en escalatielijst; de normen blijven gelijk.",
                document=_pdf(f"sla-{org.slug}-1.1.pdf", f"SLA {org.name} 1.1"),
                policy=None,
                effective_from=effective,
            )
        written += upcoming is not None
    return written
