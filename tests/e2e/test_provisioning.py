"""Recipient provisioning: a trajectbegeleider who never opened the bot still gets the card.

Teams refuses to open a 1:1 chat with someone who does not have the app (403, "Bot is not
installed in user's personal scope"); the bot then installs the app for them through Microsoft
Graph, with an app-only token from their own tenant, and opens the chat again. Here Teams is the
``FakeConnector`` with ``require_install`` and Graph is the ``FakeGraph`` stand-in, both on loopback.

The ``installer`` fixture configures it the way an operator would (``BOT_GRAPH_*``), through
bootstrap; only the credentials are stand-ins (``FakeCredentials``: fixed tokens per tenant).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError
from azure.identity import CredentialUnavailableError
from azure.identity.aio import CertificateCredential, ClientSecretCredential, ManagedIdentityCredential

from bot.domain.handoff import HandoffState, Stage
from bot.teams import texts as dutch
from bot.teams.graph import GRAPH_SCOPE, GraphApp, GraphError, GraphInstaller, graph_credentials, scope_for
from tests.e2e.conftest import AMAL, ATLAS, ELS, PIETER
from tests.e2e.flows import CONTENT, identify, receive, send
from tests.support.cards import texts, verbs
from tests.support.connector import FakeConnector, error_body
from tests.support.graph import (
    MISSING_PERMISSION,
    TEAMS_APP_ID,
    FakeCredentials,
    FakeGraph,
    graph_error,
)

NAME = "Amina El Idrissi"
DOCUMENTED = error_body(403, "Bot isn't installed in user's personal scope", "ForbiddenOperationException")


@pytest.fixture
async def connector():
    """Teams, where the app is installed for nobody yet."""
    async with FakeConnector(require_install=True) as running:
        yield running


@pytest.fixture
async def graph(connector):
    async with FakeGraph(connector, tenants={ATLAS, AMAL}) as running:
        yield running


@pytest.fixture
def credentials() -> FakeCredentials:
    return FakeCredentials()


@pytest.fixture
async def installer(harness, graph, credentials):
    """The bot of the harness, restarted with Graph provisioning configured."""
    harness.env.update(BOT_GRAPH_CREDENTIAL="secret", BOT_GRAPH_BASE_URL=graph.base_url, BOT_TEAMS_APP_ID=TEAMS_APP_ID)
    harness.graph_credentials = credentials
    await harness.restart()
    assert isinstance(harness.runtime.installer, GraphInstaller)
    yield harness.runtime.installer
    await harness.stop()
    assert all(c.closed for c in credentials.made.values())


def creates(connector: FakeConnector) -> list[int | None]:
    """The answers to every attempt to open a chat, in order."""
    return [c.status for c in connector.calls if c.is_create]


async def events(harness) -> list[str]:
    return [e.event for e in await harness.runtime.store.audit_events()]


async def write(counsellor) -> dict:
    """The counsellor's terugkoppeling up to the preview."""
    await identify(counsellor, NAME, "1990-04-12")
    return await counsellor.click("bekijk", CONTENT)


async def only_draft(harness):
    cursor = await harness.runtime.store._db.execute("SELECT id FROM drafts")
    (row,) = await cursor.fetchall()
    return await harness.runtime.store.get_draft(row[0])


async def queued_handoff(harness):
    (handoff,) = await harness.runtime.store.due_handoffs(harness.clock.now() + timedelta(days=1), 10)
    return handoff


# -- the path that works --------------------------------------------------------------------------


@pytest.mark.parametrize("refusal", ["observed", "documented"])
async def test_first_delivery_installs_the_app_then_opens_the_chat(
    harness, connector, graph, credentials, installer, counsellor, els, refusal
):
    if refusal == "documented":
        connector.not_installed_answer = DOCUMENTED
    receipt = await send(counsellor)
    assert texts(receipt)[0] == "Terugkoppeling verstuurd"

    refused, opened = [c for c in connector.calls if c.is_create]
    assert (refused.status, opened.status) == (403, 201) and refused.body["members"] == [{"id": ELS}]
    [lookup] = graph.lookups()
    [install] = graph.install_calls()
    assert refused.time < lookup.time < install.time < opened.time
    assert install.status == 201 and install.user == ELS
    assert lookup.tenant == install.tenant == ATLAS  # a token from the recipient's tenant, not VDAB's
    assert lookup.query == {"$filter": f"externalId eq '{TEAMS_APP_ID}'"}
    assert install.body == {"teamsApp@odata.bind": f"{graph.base_url}/appCatalogs/teamsApps/{graph.catalog_id(ATLAS)}"}
    assert list(credentials.made) == [ATLAS] and credentials.made[ATLAS].scopes == [(GRAPH_SCOPE,)] * 2

    assert len(connector.cards_to(ELS)) == 1  # exactly once
    receive(els)
    assert NAME in " ".join(texts(els.card))
    assert (await events(harness))[-2:] == ["recorded", "sent"]


async def test_a_second_delivery_needs_no_graph(harness, connector, graph, installer, counsellor, els):
    await send(counsellor)
    graph.calls.clear()
    receipt = await send(counsellor, "Ali Hassan", "1985-06-01")
    assert texts(receipt)[0] == "Terugkoppeling verstuurd"
    assert graph.calls == []
    assert creates(connector)[-1] == 201 and len(connector.cards_to(ELS)) == 2


async def test_the_catalog_is_looked_up_once_per_tenant(harness, connector, graph, installer, counsellor, els, pieter):
    await send(counsellor)
    await send(counsellor, "Yonas Tesfaye", "1987-11-03")  # Pieter, at Amal
    assert [(c.tenant, c.user) for c in graph.installs()] == [(ATLAS, ELS), (AMAL, PIETER)]
    assert [c.tenant for c in graph.lookups()] == [ATLAS, AMAL]
    assert len(connector.cards_to(ELS)) == len(connector.cards_to(PIETER)) == 1


async def test_already_installed_409_is_fine(harness, connector, graph, installer, counsellor, els):
    """Installed meanwhile (an admin policy, another replica): Graph answers 409 Conflict."""
    graph.already_installed(ELS, ATLAS)
    receipt = await send(counsellor)
    assert texts(receipt)[0] == "Terugkoppeling verstuurd"
    assert [c.status for c in graph.install_calls()] == [409]
    assert creates(connector) == [403, 201] and len(connector.cards_to(ELS)) == 1


async def test_teams_not_yet_aware_of_the_installation_goes_to_the_outbox(
    harness, connector, graph, installer, counsellor, els
):
    graph.propagate = False  # Graph installed it; Teams still refuses the chat for a moment
    await write(counsellor)
    card = await counsellor.click("verstuur")
    assert texts(card)[0] == "Terugkoppeling wordt verstuurd"
    assert creates(connector) == [403, 403] and connector.cards_to(ELS) == []
    connector.install(ELS, ATLAS)  # Teams caught up
    handoff = await queued_handoff(harness)
    assert await harness.sweep(handoff.due_at) == {"deliver": 1}
    assert [c.status for c in graph.install_calls()] == [201]  # Teams knows now: no second install
    assert creates(connector) == [403, 403, 201] and len(connector.cards_to(ELS)) == 1


# -- Graph refuses for good -----------------------------------------------------------------------


def refuse(graph: FakeGraph, how: str) -> str:
    """Make Graph refuse the way ``how`` says; the status the audit will name."""
    if how == "403":  # no admin consent for TeamsAppInstallation.* in the agency tenant
        graph.fail("POST", "installedApps", 403, body=graph_error(403, MISSING_PERMISSION, "Forbidden"))
    elif how == "401":
        graph.fail(status=401, body=graph_error(401, "Access token validation failure.", "InvalidAuthenticationToken"))
    else:  # the app was not uploaded to that tenant's catalog
        graph.missing_app.add(ATLAS)
    return how if how != "not-in-catalog" else "404"


@pytest.mark.parametrize("how", ["403", "401", "not-in-catalog"])
async def test_graph_refusing_keeps_the_preview_and_sends_nothing(
    harness, connector, graph, installer, counsellor, els, how
):
    preview = await write(counsellor)
    status = refuse(graph, how)
    card = await counsellor.click("verstuur")

    # the counsellor keeps the preview, with the reason above it
    assert "Versturen is niet gelukt" in texts(card)[0] and verbs(card) == ["verstuur", "wijzig", "annuleer"]
    assert card["body"][1:] == preview["body"]
    draft = await only_draft(harness)
    assert draft.stage is Stage.PREVIEW and draft.client is not None
    # nothing was sent, nothing is pending
    assert creates(connector) == [403] and connector.cards_to(ELS) == []
    assert [c for c in connector.ok() if c.conversation_id != counsellor.conversation_id] == []
    assert await harness.runtime.store.due_handoffs(harness.clock.now() + timedelta(days=60), 10) == []
    assert await harness.runtime.store.ended_with_content() == []
    trail = await harness.runtime.store.audit_events()
    assert [e.event for e in trail][-2:] == ["recorded", "delivery_failed"] and trail[-1].reason.endswith(status)
    assert NAME not in harness.all_logs()

    # once the tenant's administrator has acted, the same preview goes out
    graph.missing_app.clear()
    receipt = await counsellor.click("verstuur")
    assert texts(receipt)[0] == "Terugkoppeling verstuurd"
    assert len(connector.cards_to(ELS)) == 1


async def test_the_counsellor_is_told_the_bot_could_not_be_installed(harness, graph, installer, counsellor):
    await write(counsellor)
    refuse(graph, "403")
    card = await counsellor.click("verstuur")
    assert texts(card)[0] == dutch.NOT_INSTALLED.format(beheerder=dutch.ADMIN)  # no BOT_ADMIN_CONTACT here


# -- Graph cannot answer now: the outbox ------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "fault"), [
    ("GET", "appCatalogs", 503), ("POST", "installedApps", 429), ("POST", "installedApps", "drop"),
])
async def test_graph_unavailable_goes_to_the_outbox_and_the_sweep_delivers_once(
    harness, connector, graph, installer, counsellor, els, method, path, fault
):
    await write(counsellor)
    graph.fail(method, path, fault, retry_after=None if fault == "drop" else 120)
    card = await counsellor.click("verstuur")
    assert texts(card)[0] == "Terugkoppeling wordt verstuurd" and NAME not in " ".join(texts(card))
    assert creates(connector) == [403] and connector.cards_to(ELS) == [] and graph.installs() == []
    handoff = await queued_handoff(harness)
    assert handoff.state is HandoffState.DELIVERING and handoff.attempts == 1
    if fault != "drop":
        assert handoff.due_at - harness.clock.now() >= timedelta(seconds=120)  # Graph's Retry-After

    assert await harness.sweep(handoff.due_at - timedelta(seconds=1)) == {}
    assert await harness.sweep(handoff.due_at) == {"deliver": 1}
    assert len(graph.installs()) == 1 and creates(connector) == [403, 403, 201]
    assert len(connector.cards_to(ELS)) == 1
    told = counsellor.last_text()  # names the client for the counsellor (issue 14)
    assert told.startswith(f"{handoff.reference} (Amina El Idrissi) is alsnog aangekomen bij Els Peeters"), told
    assert await harness.sweep(harness.clock.now() + timedelta(hours=2)) == {}
    assert len(connector.cards_to(ELS)) == 1
    trail = await harness.runtime.store.audit_events()
    assert [e.event for e in trail][-3:] == ["recorded", "delivery_deferred", "sent"]
    assert trail[-2].reason == ("network" if fault == "drop" else str(fault))


# -- unchanged without an installer, and only for Teams' "not installed" ---------------------------


async def test_without_an_installer_not_installed_is_refused_as_before(harness, connector, graph, counsellor, els):
    await write(counsellor)
    card = await counsellor.click("verstuur")
    assert texts(card)[0] == dutch.NOT_DELIVERED.format(beheerder=dutch.ADMIN)
    assert graph.calls == [] and creates(connector) == [403]
    assert (await events(harness))[-1] == "delivery_failed"


@pytest.mark.parametrize("code", ["ConversationBlockedByUser", "BotDisabledByAdmin", "BadArgument"])
async def test_other_refusals_do_not_install(harness, connector, graph, installer, counsellor, els, code):
    await write(counsellor)
    connector.fail("POST", status=403, path_is="/v3/conversations", body=error_body(403, "refused", code))
    card = await counsellor.click("verstuur")
    assert texts(card)[0] == dutch.NOT_DELIVERED.format(beheerder=dutch.ADMIN)
    assert graph.calls == [] and creates(connector) == [403]


# -- the installer on its own -------------------------------------------------------------------------


async def test_installer_caches_the_catalog_id_per_tenant_and_uses_each_tenants_token(graph, credentials):
    installer = GraphInstaller(graph.base_url, credentials, TEAMS_APP_ID)
    try:
        await installer.install_for_user(ATLAS, "user-1")
        await installer.install_for_user(ATLAS, "user-2")
        await installer.install_for_user(ATLAS, "user-2")  # 409: fine
        await installer.install_for_user(AMAL, "user-3")
    finally:
        await installer.close()
    assert [c.tenant for c in graph.lookups()] == [ATLAS, AMAL]
    assert [(c.tenant, c.user, c.status) for c in graph.install_calls()] == [
        (ATLAS, "user-1", 201), (ATLAS, "user-2", 201), (ATLAS, "user-2", 409), (AMAL, "user-3", 201)]
    assert {(u, t) for u, t in graph.connector.installed} == {("user-1", ATLAS), ("user-2", ATLAS), ("user-3", AMAL)}


@pytest.mark.parametrize(("status", "retryable"), [(401, False), (403, False), (404, False), (400, False),
                                                   (429, True), (500, True), (503, True), ("drop", True)])
async def test_installer_errors_are_typed(graph, credentials, status, retryable):
    installer = GraphInstaller(graph.base_url, credentials, TEAMS_APP_ID)
    graph.fail("POST", "installedApps", status, retry_after=7 if status in (429, 503) else None)
    try:
        with pytest.raises(GraphError) as raised:
            await installer.install_for_user(ATLAS, "user-1")
    finally:
        await installer.close()
    error = raised.value
    assert error.retryable is retryable and error.status == (None if status == "drop" else status)
    assert error.retry_after == (7 if status in (429, 503) else None)


async def test_a_stale_catalog_id_is_looked_up_again_after_a_404(graph, credentials):
    installer = GraphInstaller(graph.base_url, credentials, TEAMS_APP_ID)
    try:
        await installer.install_for_user(ATLAS, "user-1")
        graph.fail("POST", "installedApps", 404)  # e.g. the app was removed and uploaded anew
        with pytest.raises(GraphError):
            await installer.install_for_user(ATLAS, "user-2")
        await installer.install_for_user(ATLAS, "user-2")
    finally:
        await installer.close()
    assert len(graph.lookups()) == 2


async def test_a_configured_catalog_id_needs_no_lookup(graph, credentials):
    installer = GraphInstaller(graph.base_url, credentials, TEAMS_APP_ID, catalog_ids={ATLAS: graph.catalog_id(ATLAS)})
    try:
        await installer.install_for_user(ATLAS, "user-1")
    finally:
        await installer.close()
    assert graph.lookups() == [] and len(graph.installs()) == 1


class RefusingCredential:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def get_token(self, *_: object, **__: object):
        raise self.error


@pytest.mark.parametrize(("error", "status", "retryable"), [
    (ClientAuthenticationError("AADSTS7000215: Invalid client secret provided."), 401, False),
    (CredentialUnavailableError("no managed identity endpoint"), 401, False),
    (ServiceRequestError("login.microsoftonline.com unreachable"), None, True),
])
async def test_token_failures_are_typed(graph, error, status, retryable):
    installer = GraphInstaller(graph.base_url, lambda _t: RefusingCredential(error), TEAMS_APP_ID)
    try:
        with pytest.raises(GraphError) as raised:
            await installer.install_for_user(ATLAS, "user-1")
    finally:
        await installer.close()
    assert (raised.value.status, raised.value.retryable) == (status, retryable)
    assert graph.calls == []


def test_the_token_scope_follows_the_graph_cloud():
    assert scope_for("https://graph.microsoft.com/v1.0") == GRAPH_SCOPE
    assert scope_for("https://graph.microsoft.us/v1.0") == "https://graph.microsoft.us/.default"
    assert scope_for("https://dod-graph.microsoft.us/v1.0/") == "https://dod-graph.microsoft.us/.default"
    assert scope_for("https://microsoftgraph.chinacloudapi.cn/v1.0") == "https://microsoftgraph.chinacloudapi.cn/.default"
    assert scope_for("http://127.0.0.1:8123/v1.0") == GRAPH_SCOPE  # a stand-in keeps the real scope
    assert scope_for("http://localhost:8123/v1.0") == GRAPH_SCOPE


async def test_credentials_are_made_once_per_tenant(tmp_path):
    apps = {ATLAS: GraphApp("app-atlas", client_secret="s3cret"), AMAL: GraphApp("app-amal", client_secret="other")}
    secrets = graph_credentials("secret", apps.__getitem__)
    atlas = secrets(ATLAS)
    assert isinstance(atlas, ClientSecretCredential) and secrets(ATLAS) is atlas and secrets(AMAL) is not atlas
    await secrets.close()

    pem = _self_signed_pem(tmp_path)
    certificates = graph_credentials("certificate", lambda _t: GraphApp("app-1", certificate_path=str(pem)))
    assert isinstance(certificates(ATLAS), CertificateCredential)
    await certificates.close()

    identities = graph_credentials("managed-identity", lambda _t: GraphApp("mi-client-id"))
    assert isinstance(identities(ATLAS), ManagedIdentityCredential)
    await identities.close()

    with pytest.raises(GraphError) as missing:
        graph_credentials("secret", lambda _t: GraphApp("app-1"))(ATLAS)
    assert missing.value.status == 401 and not missing.value.retryable
    with pytest.raises(ValueError):
        graph_credentials("password", lambda _t: GraphApp("app-1"))  # type: ignore[arg-type]


def _self_signed_pem(directory: Path) -> Path:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "terugkoppeling-test")])
    now = datetime(2026, 1, 1)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    path = directory / "graph.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    return path
