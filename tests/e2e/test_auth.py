"""Bot Framework authentication, with a token issuer stand-in on loopback: only a valid token
addressed to a configured registration gets in; everything else is a 401 that changes nothing."""

import json

import pytest

from bot.teams.adapter import BotRegistration, Registrations
from tests.e2e.conftest import ATLAS, VDAB
from tests.support.identity import IdentityStandIn

APP_A = "11111111-1111-4111-8111-111111111111"  # the primary registration
APP_B = "22222222-2222-4222-8222-222222222222"  # Atlas's own registration
OTHER = "33333333-3333-4333-8333-333333333333"  # someone else's bot


@pytest.fixture(scope="module")
def issuer():
    stand_in = IdentityStandIn()
    stand_in.start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def bot_env(issuer) -> dict[str, str]:
    return {
        "MicrosoftAppId": APP_A, "MicrosoftAppPassword": "not-used-in-these-tests", "MicrosoftAppType": "MultiTenant",
        "BOT_REGISTRATIONS": json.dumps([{"app_id": APP_B, "password": "x", "type": "SingleTenant", "tenant": ATLAS}]),
        "BOT_COUNSELLOR_TENANTS": VDAB, "BOT_AGENCY_TENANTS": f"atlas={ATLAS}",
        "BOT_FRAMEWORK_OPENID_METADATA_URL": issuer.metadata_url,
    }


def action(verb: str = "identificeer") -> dict:
    return {"action": {"type": "Action.Execute", "verb": verb, "data": {"draft": "d" * 22}}, "trigger": "manual"}


async def nothing_changed(harness) -> None:
    assert await harness.runtime.store._query("SELECT 1 FROM drafts") == []
    assert harness.connector.calls == []


async def test_no_token_is_401(harness, counsellor):
    status, _ = await counsellor.say("terugkoppeling")
    assert status == 401
    status, _ = await counsellor.invoke(action())
    assert status == 401
    await nothing_changed(harness)
    assert '"status": 401' in harness.all_logs()


@pytest.mark.parametrize(
    "make_token",
    [
        lambda issuer, url: "garbage",
        lambda issuer, url: issuer.token(APP_A, url, key=issuer.stranger_key),  # a signature nobody published
        lambda issuer, url: issuer.token(APP_A, url, kid="unknown-key"),
        lambda issuer, url: issuer.token(OTHER, url),  # addressed to another bot
        lambda issuer, url: issuer.token(APP_A, "https://evil.example/"),  # for another service URL
        lambda issuer, url: issuer.token(APP_A, url, issuer="https://sts.example/"),
        lambda issuer, url: issuer.token(APP_A, url, lifetime=-3600),  # expired
    ],
    ids=["garbage", "bad-signature", "unknown-key", "other-app", "other-service-url", "other-issuer", "expired"],
)
async def test_a_bad_token_is_401_and_changes_nothing(harness, counsellor, issuer, make_token):
    harness.headers["Authorization"] = f"Bearer {make_token(issuer, harness.connector.url)}"
    status, _ = await counsellor.say("terugkoppeling")
    assert status == 401
    status, _ = await counsellor.invoke(action())
    assert status == 401
    await nothing_changed(harness)


@pytest.mark.parametrize("app_id", [APP_A, APP_B])
async def test_a_valid_token_for_any_configured_registration_gets_in(harness, counsellor, issuer, app_id):
    harness.headers["Authorization"] = f"Bearer {issuer.token(app_id, harness.connector.url)}"
    status, body = await counsellor.invoke(action())  # answered inline: no outgoing call, no token needed
    assert status == 200 and body["statusCode"] == 200
    assert "niet meer open" in json.dumps(body)


@pytest.mark.parametrize("bot_env", [{"MicrosoftAppId": APP_A, "MicrosoftAppPassword": "x",
                                      "BOT_COUNSELLOR_TENANTS": VDAB, "BOT_AGENCY_TENANTS": f"atlas={ATLAS}",
                                      "BOT_FRAMEWORK_OPENID_METADATA_URL": "http://127.0.0.1:9/none"}])
async def test_signing_keys_out_of_reach_is_a_retryable_503(harness, counsellor, bot_env):
    harness.headers["Authorization"] = f"Bearer {IdentityStandIn().token(APP_A, harness.connector.url)}"
    status, _ = await counsellor.invoke(action())
    assert status == 503
    await nothing_changed(harness)


async def test_outgoing_calls_use_the_registration_of_the_tenant_they_go_to():
    registrations = Registrations(
        BotRegistration(APP_A, "secret-a", "MultiTenant"),
        [BotRegistration(APP_B, "secret-b", "SingleTenant", ATLAS)],
    )
    assert registrations.app_id_for(ATLAS) == APP_B and registrations.app_id_for("any-other-tenant") == APP_A
    assert await registrations.is_valid_app_id(APP_B) and not await registrations.is_valid_app_id(OTHER)
    login = "https://login.microsoftonline.com/botframework.com"
    credentials = await registrations.create_credentials(APP_B, "https://api.botframework.com", login, True)
    assert credentials.microsoft_app_id == APP_B and ATLAS in credentials.oauth_endpoint
    assert credentials.microsoft_app_password == "secret-b"
    with pytest.raises(PermissionError):
        await registrations.create_credentials(OTHER, "https://api.botframework.com", login, True)


async def test_connector_clients_are_reused_per_registration_and_service_url():
    from botframework.connector.auth import ClaimsIdentity

    from bot.teams.adapter import create_adapter

    atlas = BotRegistration(APP_B, "b", "SingleTenant", ATLAS)
    registrations = Registrations(BotRegistration(APP_A, "secret-a"), [atlas])
    authentication = create_adapter(registrations).bot_framework_authentication
    a, b = ClaimsIdentity({"aud": APP_A}, True), ClaimsIdentity({"aud": APP_B}, True)
    url, other_url = "https://smba.trafficmanager.net/emea/", "https://smba.trafficmanager.net/amer/"
    first = await authentication.create_connector_factory(a).create(url, None)
    assert await authentication.create_connector_factory(a).create(url, None) is first  # the next turn
    assert await authentication.create_connector_factory(b).create(url, None) is not first  # other credential
    assert await authentication.create_connector_factory(a).create(other_url, None) is not first
    assert first.config.credentials.microsoft_app_id == APP_A
    assert await authentication.create_user_token_client(a) is await authentication.create_user_token_client(a)
