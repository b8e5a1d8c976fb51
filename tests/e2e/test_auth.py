"""Bot Framework authentication, with a token issuer stand-in on loopback: only a valid token
addressed to a configured registration gets in; everything else is a 401 that changes nothing."""

import json

import pytest

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
        # signed with a published key that is endorsed for another channel, not for msteams
        lambda issuer, url: issuer.token(APP_A, url, key=issuer.other_channel_key, kid=issuer.other_channel_kid),
    ],
    ids=["garbage", "bad-signature", "unknown-key", "other-app", "other-service-url", "other-issuer", "expired",
         "key-not-endorsed-for-msteams"],
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


async def test_outgoing_calls_use_the_registration_of_the_tenant_they_go_to(harness):
    """Whichever host runs: the messenger speaks to Atlas as Atlas's registration, to anyone else as
    the primary one (the SDK-level checks are in tests/integration/test_registrations.py)."""
    app_id_for = harness.runtime.service.messenger._app_id_for
    assert app_id_for(ATLAS) == APP_B and app_id_for("any-other-tenant") == APP_A
