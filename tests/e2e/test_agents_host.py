"""The main flows on the Microsoft 365 Agents SDK host (``BOT_HOST=agents``, bot/agents/): the
same tests as on the botbuilder host, imported from their own modules and run here with the
Agents host, plus authentication with the token issuer stand-in. Every test in this module
checks first that it really runs on the Agents host."""

import json

import pytest

from bot.agents.messenger import AgentsMessenger
from tests.e2e.conftest import ATLAS, VDAB
from tests.e2e.test_counsellor_overview import (  # noqa: F401 - issue 14, the counsellor's side
    test_a_correction_replaces_the_recipients_card_with_exactly_one_live_copy,
    test_a_correction_throttled_by_teams_is_finished_by_the_sweep_with_one_live_copy,
    test_the_overview_shows_the_counsellors_own_newest_first_paged_and_nobody_elses,
    test_withdrawal_asks_first_then_removes_the_card_purges_and_tells_the_recipient,
)
from tests.e2e.test_flow import (  # noqa: F401 - collected here, on this host
    test_group_chat_gets_a_refusal_and_no_form,
    test_other_text_gets_help,
    test_retried_verstuur_sends_one_card,
    test_welcome_when_installed_in_personal_scope,
    test_whole_happy_path_as_two_users,
    test_wijzig_keeps_everything_and_annuleer_purges,
)
from tests.e2e.test_outbox import (  # noqa: F401
    test_a_card_refreshes_to_what_is_current,
    test_a_refused_connection_is_retried_after_teams_is_back,
    test_a_retryable_failure_is_queued_and_delivered_once_by_the_sweep,
    test_giving_up_after_the_bound_purges_and_tells_the_counsellor,
    test_someone_else_looking_at_the_card_sees_no_content,
    test_two_verstuur_invokes_at_the_same_moment_send_one_card,
)
from tests.e2e.test_refusals import (  # noqa: F401
    test_another_counsellor_cannot_touch_a_draft,
    test_delivery_refused_for_good_keeps_the_preview_and_sends_nothing,
    test_ineligible_clients_are_refused,
    test_malformed_invokes_are_4xx_not_5xx,
    test_niet_mijn_klant_purges_and_records_an_incident,
    test_only_the_recipient_can_confirm,
    test_second_terugkoppeling_asks_for_confirmation,
    test_stale_actions_get_a_clear_card,
)
from tests.support.identity import IdentityStandIn

APP_A = "11111111-1111-4111-8111-111111111111"
APP_B = "22222222-2222-4222-8222-222222222222"
OTHER = "33333333-3333-4333-8333-333333333333"


@pytest.fixture
def bot_env(request) -> dict[str, str]:
    return {**getattr(request, "param", {}), "BOT_HOST": "agents"}


@pytest.fixture(autouse=True)
def _on_the_agents_host(request):
    """Whichever bot the test started was assembled as the Agents host (endpoint and messenger)."""
    for name in ("harness", "authed"):
        if name in request.fixturenames:
            runtime = request.getfixturevalue(name).runtime
            assert isinstance(runtime.service.messenger, AgentsMessenger)
            assert any(type(getattr(hook, "__self__", None)).__name__ == "AgentsHost"
                       for hook in runtime.app.on_cleanup)


# -- authentication ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def issuer():
    stand_in = IdentityStandIn()
    stand_in.start()
    yield stand_in
    stand_in.stop()


def _authenticated(issuer, metadata_url: str | None = None) -> dict[str, str]:
    return {
        "MicrosoftAppId": APP_A, "MicrosoftAppPassword": "not-used-in-these-tests", "MicrosoftAppType": "MultiTenant",
        "BOT_REGISTRATIONS": json.dumps([{"app_id": APP_B, "password": "x", "type": "SingleTenant", "tenant": ATLAS}]),
        "BOT_COUNSELLOR_TENANTS": VDAB, "BOT_AGENCY_TENANTS": f"atlas={ATLAS}",
        "BOT_FRAMEWORK_OPENID_METADATA_URL": metadata_url or issuer.metadata_url, "BOT_HOST": "agents",
    }


def _action() -> dict:
    return {"action": {"type": "Action.Execute", "verb": "identificeer", "data": {"draft": "d" * 22}},
            "trigger": "manual"}


async def _nothing_changed(harness) -> None:
    assert await harness.runtime.store._query("SELECT 1 FROM drafts") == []
    assert harness.connector.calls == []


@pytest.fixture
def auth_env(issuer, request):
    return _authenticated(issuer, getattr(request, "param", None))


@pytest.fixture
async def authed(tmp_path, connector, auth_env, caplog):
    """The Agents host with two registrations, behind the token issuer stand-in."""
    import logging
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.adapters.clock import FixedClock
    from tests.support.teams import Harness, capture_logs

    caplog.set_level(logging.DEBUG)
    clock = FixedClock(datetime(2026, 11, 30, 9, 0, tzinfo=ZoneInfo("Europe/Brussels")))
    h = Harness(tmp_path, connector, clock, env=auth_env)
    handler = capture_logs(h.log_stream)
    logging.getLogger().addHandler(handler)
    await h.start()
    yield h
    await h.close()
    logging.getLogger().removeHandler(handler)


@pytest.mark.parametrize(
    "make_token",
    [
        None,
        lambda issuer, url: "garbage",
        lambda issuer, url: issuer.token(APP_A, url, key=issuer.stranger_key),
        lambda issuer, url: issuer.token(APP_A, url, kid="unknown-key"),
        lambda issuer, url: issuer.token(OTHER, url),
        lambda issuer, url: issuer.token(APP_A, "https://evil.example/"),
        lambda issuer, url: issuer.token(APP_A, url, issuer="https://sts.example/"),
        lambda issuer, url: issuer.token(APP_A, url, lifetime=-3600),
    ],
    ids=["none", "garbage", "bad-signature", "unknown-key", "other-app", "other-service-url", "other-issuer",
         "expired"],
)
async def test_a_missing_or_bad_token_is_401_and_changes_nothing(authed, issuer, make_token):
    if make_token is not None:
        authed.headers["Authorization"] = f"Bearer {make_token(issuer, authed.connector.url)}"
    counsellor = authed.user("aad-bram", VDAB, "Bram Bemiddelaar")
    assert (await counsellor.say("terugkoppeling"))[0] == 401
    assert (await counsellor.invoke(_action()))[0] == 401
    await _nothing_changed(authed)
    assert '"status": 401' in authed.all_logs()


@pytest.mark.parametrize("app_id", [APP_A, APP_B])
async def test_a_valid_token_for_any_configured_registration_gets_in(authed, issuer, app_id):
    authed.headers["Authorization"] = f"Bearer {issuer.token(app_id, authed.connector.url)}"
    status, body = await authed.user("aad-bram", VDAB, "Bram Bemiddelaar").invoke(_action())
    assert status == 200 and body["statusCode"] == 200
    assert "niet meer open" in json.dumps(body)


@pytest.mark.parametrize("auth_env", ["http://127.0.0.1:9/none"], indirect=True)
async def test_signing_keys_out_of_reach_is_a_retryable_503(authed, auth_env):
    authed.headers["Authorization"] = f"Bearer {IdentityStandIn().token(APP_A, authed.connector.url)}"
    status, _ = await authed.user("aad-bram", VDAB, "Bram Bemiddelaar").invoke(_action())
    assert status == 503
    await _nothing_changed(authed)


async def test_outgoing_tokens_come_from_the_registration_of_the_tenant(authed):
    registrations = authed.runtime.service.messenger._app_id_for
    assert registrations(ATLAS) == APP_B and registrations("any-other-tenant") == APP_A
