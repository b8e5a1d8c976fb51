"""The edge's parsing of what Teams sends: commands, identity field types, card inputs."""

import pytest

from bot.teams.activity import MAX_INPUT_CHARS, command_text, parse_invoke, well_typed


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("terugkoppeling", "terugkoppeling"),
        ("  /Terugkoppeling ", "terugkoppeling"),
        ("<at>Terugkoppeling</at> terugkoppeling", "terugkoppeling"),
        ("<AT>Bot</AT>/terugkoppeling<at>x</at>", "terugkoppeling"),
        ("<at>Bot</at> terugkoppeling <at>", "terugkoppeling <at>"),  # an unclosed mention stays text
        ("<at>" * 40, "<at>" * 40),
        (None, ""),
        ("terugkoppeling" + " " * 300, ""),  # longer than any command: not one
    ],
)
def test_command_text(text, command):
    assert command_text(text) == command


def test_a_huge_unclosed_mention_is_not_parsed():
    assert command_text("<at>" * 50_000) == ""


def envelope(**fields):
    body = {"type": "message", "id": "1", "text": "hallo", "serviceUrl": "http://127.0.0.1:1",
            "from": {"id": "29:x", "name": "X", "aadObjectId": "aad"}, "recipient": {"id": "28:b", "name": "B"},
            "conversation": {"id": "a:1", "conversationType": "personal", "tenantId": "t"},
            "channelData": {"tenant": {"id": "t"}, "other": [1, {"x": None}]}}
    body.update(fields)
    return body


def test_a_teams_shaped_activity_is_well_typed():
    assert well_typed(envelope())
    assert well_typed(envelope(text=None, channelData=None, locale="nl-BE"))
    assert well_typed(envelope(serviceUrl="https://smba.trafficmanager.net/emea/"))


@pytest.mark.parametrize(
    "fields",
    [{"channelData": {"tenant": {"id": 1.5}}}, {"channelData": {"tenant": "t"}}, {"channelData": []},
     {"from": {"id": "29:x", "aadObjectId": {}}}, {"from": {"id": 29}}, {"from": "x"},
     {"conversation": {"id": "a:1", "tenantId": True}}, {"recipient": {"id": "b", "name": ["x"]}},
     {"text": 5}, {"serviceUrl": {"u": 1}}, {"type": None}, {"serviceUrl": "x"}, {"serviceUrl": "ftp://a"},
     {"serviceUrl": "http://[::1"}, {"serviceUrl": "http://a:99999"}, {"serviceUrl": "https://"},
     {"serviceUrl": "http://a b"}, {"serviceUrl": "http://a/\n"}],
)
def test_wrong_types_in_identity_fields_are_refused(fields):
    assert not well_typed(envelope(**fields))


def invoke(data):
    return {"action": {"type": "Action.Execute", "verb": "bekijk", "data": data}, "trigger": "manual"}


def test_inputs_are_kept_whole_up_to_the_bound():
    value = "x" * (MAX_INPUT_CHARS - 10)
    action = parse_invoke(invoke({"draft": "abcdefgh12", "toelichting": value, "n": 3}))
    assert action is not None and action.data.inputs() == {"toelichting": value}


def test_inputs_past_the_bound_make_the_action_invalid():
    half = "x" * (MAX_INPUT_CHARS // 2 + 1)
    assert parse_invoke(invoke({"draft": "abcdefgh12", "partner": half, "toelichting": half})) is None
