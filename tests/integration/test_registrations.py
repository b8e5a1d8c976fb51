"""Several bot registrations, at the level of each host's SDK (no server): outgoing calls use the
registration of the tenant they go to, and botbuilder's connector clients are reused per
registration and service URL. Moved here from tests/e2e/test_auth.py, which runs on both hosts:
these look inside botbuilder (and the Agents SDK) rather than at the bot over HTTP."""

import pytest

from bot.teams.adapter import BotRegistration, Registrations

ATLAS = "2b7d0c6e-1f4a-4b8e-9c3d-aaaa00000002"
APP_A = "11111111-1111-4111-8111-111111111111"  # the primary registration
APP_B = "22222222-2222-4222-8222-222222222222"  # Atlas's own registration
OTHER = "33333333-3333-4333-8333-333333333333"  # someone else's bot


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


async def test_the_agents_host_maps_tenants_to_registrations_the_same_way():
    from bot.agents.auth import Registration
    from bot.agents.auth import Registrations as AgentsRegistrations

    registrations = AgentsRegistrations(Registration(APP_A, "secret-a", "MultiTenant"),
                                        [Registration(APP_B, "secret-b", "SingleTenant", ATLAS)])
    assert registrations.app_id_for(ATLAS) == APP_B and registrations.app_id_for("any-other-tenant") == APP_A
    assert registrations.app_ids == {APP_A, APP_B} and not registrations.anonymous
