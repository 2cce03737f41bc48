import pytest

from problems import services


@pytest.fixture(autouse=True)
def _mail_in_memory(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}


@pytest.fixture(autouse=True)
def _broker_breaker_closed(monkeypatch):
    from escalation import outbox

    monkeypatch.setattr(outbox, "_broker_down_until", 0.0)


@pytest.fixture
def incidents(make_ticket, contracts, acme, globex):
    """Two acme incidents (two reporters) and a globex one, all on the phone exchange."""
    return [
        make_ticket("acme.user", title="Telefooncentrale valt weg bij doorverbinden",
                    service=acme.services.first()),
        make_ticket("acme.user2", title="Doorverbinden werkt niet", service=acme.services.first()),
        make_ticket("globex.user", title="Calls drop when transferring",
                    service=globex.services.first()),
    ]  # fmt: skip


@pytest.fixture
def problem(users, incidents):
    return services.raise_problem(
        users["agent"],
        title="Calls drop on transfer",
        description="Several customers lose calls when transferring.",
        impact="high",
        urgency="high",
        incidents=incidents,
    )


@pytest.fixture
def known_error(users, problem, acme, globex):
    return services.save_known_error(
        problem,
        users["agent"],
        title="Doorverbinden laat gesprek vallen",
        symptoms="Gesprekken vallen weg bij doorverbinden naar een extern nummer.",
        root_cause="A firmware bug in the SBC.",
        workaround="Transfer through the operator console instead of the handset.",
        services=[acme.services.first()],
        published_to=[acme],
    )
