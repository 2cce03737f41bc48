"""The SLA document's versions (SPEC §11, issue 18 item 5, first slice): the 3-month notice
rule, the PDF check, the announcement to the authorised contacts (once), and tenant isolation
over the page, the API and the downloads."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from freezegun import freeze_time

from escalation.models import Channel, Notification
from sla import documents
from sla.models import SlaDocumentVersion

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def pdf(name="sla-2.1.pdf", body=PDF):
    return SimpleUploadedFile(name, body, "application/pdf")


def register(contract, user, *, effective_from, number="2.1", document=None, **fields):
    return documents.register_version(
        contract,
        user,
        number=number,
        date=timezone.localdate(),
        description=fields.pop("description", "Nieuwe reactietijden"),
        document=document or pdf(),
        effective_from=effective_from,
        **fields,
    )


def announcements():
    return Notification.objects.filter(template="sla_document")


# --- the notice rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "too_soon", "in_time"),
    [
        # 2 months and 29 days are refused, 3 calendar months are enough
        ("2027-01-10", dt.date(2027, 4, 9), dt.date(2027, 4, 10)),
        # month ends: 30 November + 3 months is the last day of February
        ("2026-11-30", dt.date(2027, 2, 27), dt.date(2027, 2, 28)),
        ("2027-11-30", dt.date(2028, 2, 28), dt.date(2028, 2, 29)),  # a leap year
        ("2027-08-31", dt.date(2027, 11, 29), dt.date(2027, 11, 30)),
        ("2027-10-31", dt.date(2028, 1, 30), dt.date(2028, 1, 31)),
    ],
)
def test_a_version_needs_three_calendar_months_notice(today, too_soon, in_time, contracts, users):
    with freeze_time(f"{today} 10:00:00+01:00"), translation.override("en"):
        with pytest.raises(ValidationError) as refused:
            register(contracts["acme"], users["admin"], effective_from=too_soon)
        assert "3 calendar months" in str(refused.value.message_dict["effective_from"])
        assert not SlaDocumentVersion.objects.exists()
        version = register(contracts["acme"], users["admin"], effective_from=in_time)
        assert version.announced_at == timezone.now()


def test_the_notice_counts_from_the_local_date(contracts, users):
    # 23:30 UTC on 31 October is 1 November in Amsterdam: 1 February is 3 months after
    with freeze_time("2027-10-31 23:30:00Z"):
        version = register(contracts["acme"], users["admin"], effective_from=dt.date(2028, 2, 1))
    assert version.pk


def test_the_api_refuses_a_short_notice_with_400(api, contracts, users):
    with freeze_time("2027-01-10 10:00:00+01:00"):
        response = api(users["admin"]).post(
            "/api/v1/sla-documents/",
            {
                "contract": contracts["acme"].pk,
                "number": "3.0",
                "date": "2027-01-10",
                "document": pdf(),
                "effective_from": "2027-04-09",
            },
            format="multipart",
        )
    assert response.status_code == 400, response.content
    assert "3 calendar months" in str(response.json()["effective_from"])
    assert not announcements().exists()


def test_staff_register_through_the_api_and_a_number_is_used_once(api, contracts, users, policy):
    client = api(users["admin"])
    data = {
        "contract": contracts["acme"].pk,
        "number": "3.0",
        "date": "2027-01-10",
        "description": "Major release",
        "policy": policy.pk,
        "effective_from": "2027-05-01",
    }
    with freeze_time("2027-01-10 10:00:00+01:00"):
        created = client.post(
            "/api/v1/sla-documents/", {**data, "document": pdf()}, format="multipart"
        )
        again = client.post(
            "/api/v1/sla-documents/", {**data, "document": pdf()}, format="multipart"
        )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["policy_name"] == policy.name
    assert body["organization"] == contracts["acme"].organization_id
    assert again.status_code == 400
    assert SlaDocumentVersion.objects.count() == 1


def test_customers_cannot_register_a_version(api, contracts, users):
    response = api(users["acme.contact"]).post(
        "/api/v1/sla-documents/",
        {"contract": contracts["acme"].pk, "number": "9", "date": "2027-01-10",
         "document": pdf(), "effective_from": "2030-01-01"},
        format="multipart",
    )  # fmt: skip
    assert response.status_code == 403
    assert not SlaDocumentVersion.objects.exists()


def test_the_admin_refuses_a_short_notice_as_a_form_error(client, contracts, users):
    admin = users["admin"]
    admin.is_staff = admin.is_superuser = True
    admin.save(update_fields=["is_staff", "is_superuser"])
    client.force_login(admin)
    url = reverse("admin:sla_sladocumentversion_add")
    data = {
        "contract": contracts["acme"].pk,
        "number": "2.1",
        "date": "2027-01-10",
        "description": "",
        "effective_from": "2027-04-09",
    }
    with freeze_time("2027-01-10 10:00:00+01:00"):
        refused = client.post(url, {**data, "document": pdf()})
        assert refused.status_code == 200
        assert "3" in str(refused.context["adminform"].form.errors["effective_from"])
        accepted = client.post(url, {**data, "effective_from": "2027-04-10", "document": pdf()})
    assert accepted.status_code == 302
    version = SlaDocumentVersion.objects.get()
    assert version.created_by == admin and version.original_name == "sla-2.1.pdf"
    assert version.announced_at is not None
    assert set(announcements().values_list("recipient__username", flat=True)) == {"acme.contact"}
    # once announced, what the contacts were told stays: the admin shows the policy and dates
    form = client.get(reverse("admin:sla_sladocumentversion_change", args=[version.pk]))
    assert form.status_code == 200
    fields = form.context["adminform"].form.fields
    assert not {"policy", "effective_from", "document", "contract"} & set(fields)


# --- the document is a PDF -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("sla.pdf", b"\x89PNG\r\n\x1a\n" + b"\0" * 64),  # a PNG named .pdf
        ("sla.pdf", b"just some text, no PDF"),
        ("sla.docx", PDF),  # a PDF, but not named one
        ("sla.exe", b"MZ\x90\x00" + b"\0" * 64),
    ],
)
def test_only_a_pdf_whose_bytes_agree_is_accepted(name, body, contracts, users):
    with pytest.raises(ValidationError) as refused:
        register(
            contracts["acme"],
            users["admin"],
            effective_from=timezone.localdate() + dt.timedelta(days=200),
            document=pdf(name, body),
        )
    assert "document" in refused.value.message_dict
    assert not SlaDocumentVersion.objects.exists()


# --- the announcement ------------------------------------------------------------------------


def test_the_authorised_contacts_are_told_once(contracts, users, acme):
    from pim.models import Role
    from tests.conftest import make_user

    make_user("acme.contact2", Role.AUTHORISED_CONTACT, acme)
    version = register(
        contracts["acme"],
        users["admin"],
        effective_from=timezone.localdate() + dt.timedelta(days=200),
    )
    documents.announce(version)  # a second announcement writes nothing new
    rows = announcements()
    assert sorted(rows.values_list("recipient__username", "channel")) == [
        ("acme.contact", Channel.EMAIL),
        ("acme.contact", Channel.IN_APP),
        ("acme.contact2", Channel.EMAIL),
        ("acme.contact2", Channel.IN_APP),
    ]  # never a customer user, never another organisation


def test_the_announcement_says_the_version_and_its_date(contracts, users):
    from escalation.delivery import message_for

    register(contracts["acme"], users["admin"], effective_from=dt.date(2031, 3, 1))
    row = announcements().filter(channel=Channel.IN_APP).get()
    with translation.override("nl"):
        subject, body, _extra = message_for(row)
    assert "2.1" in subject and "2031" in body
    assert "SLA" in subject


# --- who sees what ---------------------------------------------------------------------------


@pytest.fixture
def versions(contracts, users):
    far = timezone.localdate() + dt.timedelta(days=200)
    return {
        "acme": register(contracts["acme"], users["admin"], effective_from=far,
                         description="Acme versie", document=pdf("acme-sla.pdf")),
        "globex": register(contracts["globex"], users["admin"], effective_from=far,
                           description="Globex versie", document=pdf("globex-sla.pdf")),
    }  # fmt: skip


def test_the_api_shows_a_contact_their_own_organisations_versions(
    api, versions, users, django_assert_num_queries
):
    client = api(users["acme.contact"])
    with django_assert_num_queries(2):  # the count and the page, whatever the number of rows
        listed = client.get("/api/v1/sla-documents/")
    assert [v["id"] for v in listed.json()["results"]] == [versions["acme"].pk]
    own = client.get(f"/api/v1/sla-documents/{versions['acme'].pk}/")
    assert own.status_code == 200 and own.json()["file_name"] == "acme-sla.pdf"
    download = client.get(own.json()["download_url"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    other = versions["globex"].pk
    assert client.get(f"/api/v1/sla-documents/{other}/").status_code == 404
    assert client.get(f"/api/v1/sla-documents/{other}/download/").status_code == 404


def test_customer_users_and_strangers_see_no_version(api, versions, users):
    client = api(users["acme.user"])
    assert client.get("/api/v1/sla-documents/").json()["results"] == []
    assert client.get(f"/api/v1/sla-documents/{versions['acme'].pk}/").status_code == 404
    assert api().get("/api/v1/sla-documents/").status_code in (401, 403)
    assert client.get("/api/v1/sla-documents/nope/").status_code == 404


def test_staff_see_every_organisations_versions(api, versions, users):
    listed = api(users["agent"]).get("/api/v1/sla-documents/").json()["results"]
    assert {v["id"] for v in listed} == {versions["acme"].pk, versions["globex"].pk}


def test_the_page_lists_the_contacts_versions_with_a_download_link(
    client, versions, users, django_assert_max_num_queries
):
    client.force_login(users["acme.contact"])
    page = client.get("/sla/documents/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Acme versie" in html and "Globex versie" not in html
    own = reverse("sla-document-download", args=[versions["acme"].pk])
    assert own in html
    assert client.get(own).status_code == 200
    other = reverse("sla-document-download", args=[versions["globex"].pk])
    assert client.get(other).status_code == 404


def test_the_page_has_an_empty_state_and_is_closed_to_customer_users(client, contracts, users):
    client.force_login(users["acme.contact"])
    page = client.get("/sla/documents/")
    assert page.status_code == 200
    assert "No SLA document has been published yet." in page.content.decode()
    client.force_login(users["acme.user"])
    assert client.get("/sla/documents/").status_code == 404
