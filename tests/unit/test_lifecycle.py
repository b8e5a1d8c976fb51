"""Every transition of a draft and of a handoff, and every illegal one: no I/O, milliseconds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.handoff import Draft, Handoff, HandoffState, IllegalTransition, Stage
from bot.domain.model import Actor, AuditName, Delivery
from bot.domain.schedule import Schedule
from tests import factories as f

SCHEDULE = Schedule()
LEASE = SCHEDULE.lease
ELS = Actor(aad_object_id="aad-els", tenant_id="tenant-atlas", name="Els")
DELIVERY = Delivery(address=f.ADDRESS, activity_id="act-1", attempt=1)


def names(change) -> list[str]:
    return [e.event.value for e in change.events]


def recorded() -> Handoff:
    return Handoff.recorded(f.draft(), id="h-1", reference="TK-AAAAAA", now=f.NOW, lease=LEASE).record


def delivered() -> Handoff:
    return recorded().delivered(DELIVERY, at=f.NOW, schedule=SCHEDULE).record


# -- drafts -------------------------------------------------------------------------------------


def test_open_starts_at_identification_and_is_audited():
    change = Draft.open(id="d-1", counsellor=f.COUNSELLOR, address=f.ADDRESS, now=f.NOW, ttl=timedelta(hours=24))
    assert change.record.stage is Stage.IDENTIFY and change.record.expires_at == f.NOW + timedelta(hours=24)
    assert names(change) == ["started"] and change.events[0].actor == f.COUNSELLOR.aad_object_id


@pytest.mark.parametrize(("previously", "stage", "reason"), [(None, Stage.COMPOSE, None),
                                                              (f.NOW, Stage.CONFIRM_REPEAT, "repeat")])
def test_identified_goes_to_compose_or_asks_about_a_repeat(previously, stage, reason):
    draft = f.draft(stage=Stage.IDENTIFY, client=None, recipient=None)
    change = draft.identified(identity=f.client().identity, recipient=f.RECIPIENT, fingerprint="fp",
                              previously_sent_at=previously, at=f.NOW)
    assert change.record.stage is stage and change.record.recipient == f.RECIPIENT
    assert change.record.client.content is None
    assert names(change) == ["identified"] and change.events[0].reason == reason
    assert change.events[0].agency is f.RECIPIENT.agentschap


def test_repeat_confirmed_then_previewed_then_reopened():
    draft = f.draft(stage=Stage.CONFIRM_REPEAT)
    composed = draft.repeat_confirmed(f.NOW)
    assert composed.record.stage is Stage.COMPOSE and names(composed) == ["repeat_confirmed"]
    previewed = composed.record.previewed(f.client().content)
    assert previewed.record.stage is Stage.PREVIEW and previewed.events == ()
    assert previewed.record.reopened().record.stage is Stage.COMPOSE


@pytest.mark.parametrize("stage", list(Stage))
def test_cancelled_and_expired_end_a_draft_at_any_stage(stage):
    draft = f.draft(stage=stage)
    assert draft.cancelled(f.NOW).delete and names(draft.cancelled(f.NOW)) == ["cancelled", "purged"]
    assert draft.expired(f.NOW).delete and names(draft.expired(f.NOW)) == ["expired", "purged"]
    replaced = draft.replaced(f.NOW)
    assert replaced.delete and names(replaced) == ["cancelled", "purged"] and replaced.events[0].reason == "replaced"


ILLEGAL_DRAFT_STEPS = {
    "identified": (lambda d: d.identified(identity=f.client().identity, recipient=f.RECIPIENT, fingerprint="x",
                                          previously_sent_at=None, at=f.NOW), {Stage.IDENTIFY}),
    "repeat_confirmed": (lambda d: d.repeat_confirmed(f.NOW), {Stage.CONFIRM_REPEAT}),
    "previewed": (lambda d: d.previewed(f.client().content), {Stage.COMPOSE}),
    "reopened": (lambda d: d.reopened(), {Stage.PREVIEW}),
    "unidentified": (lambda d: d.unidentified("recipient_changed", f.NOW), {Stage.PREVIEW}),
    "recorded": (lambda d: Handoff.recorded(d, id="h", reference="TK-1", now=f.NOW, lease=LEASE), {Stage.PREVIEW}),
}


@pytest.mark.parametrize("step", ILLEGAL_DRAFT_STEPS)
@pytest.mark.parametrize("stage", list(Stage))
def test_a_draft_step_from_the_wrong_stage_is_refused(step, stage):
    transition, allowed = ILLEGAL_DRAFT_STEPS[step]
    if stage in allowed:
        assert transition(f.draft(stage=stage)).record is not None
    else:
        with pytest.raises(IllegalTransition):
            transition(f.draft(stage=stage))


def test_a_preview_without_content_cannot_be_recorded():
    with pytest.raises(IllegalTransition):
        Handoff.recorded(f.draft(client=f.client().model_copy(update={"content": None})), id="h", reference="TK-1",
                         now=f.NOW, lease=LEASE)


def test_shown_in_remembers_the_counsellors_card_without_an_event():
    draft = f.draft()
    assert draft.shown_in(None) is draft and draft.shown_in("act-9").card_activity_id == "act-9"


def test_records_refuse_unknown_fields():
    with pytest.raises(TypeError):
        f.draft()._with(stagee=Stage.COMPOSE)


def test_ownership_is_object_id_and_tenant():
    draft = f.draft()
    assert draft.owned_by(f.COUNSELLOR)
    assert not draft.owned_by(f.COUNSELLOR.model_copy(update={"tenant_id": "tenant-elsewhere"}))


# -- handoffs -----------------------------------------------------------------------------------


def test_recorded_enters_the_outbox_with_a_lease():
    draft = f.draft()
    change = Handoff.recorded(draft, id="h-1", reference="TK-AAAAAA", now=f.NOW, lease=LEASE)
    handoff = change.record
    assert handoff.state is HandoffState.DELIVERING and handoff.attempts == 1 and handoff.due_at == f.NOW + LEASE
    assert handoff.client == draft.client and handoff.draft_id == draft.id and handoff.recipient == draft.recipient
    assert names(change) == ["recorded"] and change.events[0].subject == "TK-AAAAAA"


def test_delivered_starts_the_reminder_clock_marks_the_client_and_drops_the_draft():
    handoff = recorded()
    change = handoff.delivered(DELIVERY, at=f.NOW, schedule=SCHEDULE)
    assert change.record.state is HandoffState.DELIVERED and change.record.sent_at == f.NOW
    assert change.record.due_at == SCHEDULE.due(change.record) and change.record.delivery == DELIVERY
    assert names(change) == ["sent"] and change.events[0].reason is None
    assert change.mark_sent.fingerprint == handoff.fingerprint and change.drop_draft == handoff.draft_id
    later = handoff._with(attempts=3).delivered(DELIVERY, at=f.NOW, schedule=SCHEDULE)
    assert later.events[0].reason == "attempt 3"


def test_deferred_refused_awaiting_claimed_rescheduled():
    handoff = recorded()
    deferred = handoff.deferred(at=f.NOW, until=f.NOW + timedelta(minutes=5), status=503, tell_counsellor=True)
    assert deferred.record.due_at == f.NOW + timedelta(minutes=5) and deferred.record.tell_when_delivered
    assert names(deferred) == ["delivery_deferred"] and deferred.events[0].reason == "503"
    assert deferred.drop_draft == handoff.draft_id
    refused = handoff.refused(at=f.NOW, reason="403")
    assert refused.delete and names(refused) == ["delivery_failed"]
    assert handoff.awaiting_notice().record.tell_when_delivered
    claimed = handoff.claimed(until=f.NOW + LEASE, delivery_attempt=True)
    assert claimed.record.attempts == 2 and claimed.events == ()
    assert handoff.rescheduled(None).record.due_at is None


def test_reminded_escalated_and_a_failed_reminder():
    handoff = delivered()
    reminded = handoff.reminded(at=f.NOW, schedule=SCHEDULE)
    assert reminded.record.reminders_sent == 1 and names(reminded) == ["reminded"]
    assert reminded.events[0].reason == "1" and reminded.record.last_reminded_at == f.NOW
    failed = handoff.reminded(at=f.NOW, schedule=SCHEDULE, failed_status=403)
    assert failed.record.reminders_sent == 1 and names(failed) == ["reminder_failed"]
    escalated = reminded.record.escalated_to_counsellor(at=f.NOW, schedule=SCHEDULE)
    assert escalated.record.escalated and names(escalated) == ["escalated"]
    assert escalated.record.due_at == SCHEDULE.purge_at(escalated.record)
    with pytest.raises(IllegalTransition):
        escalated.record.escalated_to_counsellor(at=f.NOW, schedule=SCHEDULE)


@pytest.mark.parametrize(("outcome", "events"), [
    (HandoffState.TRANSFERRED, ["transferred", "purged"]),
    (HandoffState.RETURNED, ["returned", "purged", "incident"]),
])
def test_closed_by_the_recipient_purges_and_a_misdelivery_is_an_incident(outcome, events):
    change = delivered().closed(outcome, actor=ELS, at=f.NOW, lease=LEASE)
    record = change.record
    assert record.state is outcome and record.client is None and record.follow_up and record.closed_at == f.NOW
    assert names(change) == events and all(e.actor == ELS.aad_object_id for e in change.events)
    assert change.drop_draft == record.draft_id
    done = record.followed_up().record
    assert not done.follow_up and done.due_at is None


def test_a_stray_card_of_an_undelivered_handoff_can_be_closed_too():
    assert recorded().closed(HandoffState.TRANSFERRED, actor=ELS, at=f.NOW, lease=LEASE).record.client is None


def test_expired_and_given_up_purge():
    expired = delivered().expired(at=f.NOW, lease=LEASE)
    assert expired.record.state is HandoffState.EXPIRED and names(expired) == ["expired", "purged"]
    given_up = recorded()._with(attempts=8).given_up(at=f.NOW, lease=LEASE, status=503)
    assert given_up.record.state is HandoffState.UNDELIVERABLE and names(given_up) == ["delivery_abandoned", "purged"]
    assert given_up.events[0].reason == "503 after 8 attempts" and given_up.record.client is None


ILLEGAL_HANDOFF_STEPS = {
    "delivered": (lambda h: h.delivered(DELIVERY, at=f.NOW, schedule=SCHEDULE), {HandoffState.DELIVERING}),
    "deferred": (lambda h: h.deferred(at=f.NOW, until=f.NOW, status=None, tell_counsellor=False),
                 {HandoffState.DELIVERING}),
    "refused": (lambda h: h.refused(at=f.NOW, reason="403"), {HandoffState.DELIVERING}),
    "awaiting_notice": (lambda h: h.awaiting_notice(), {HandoffState.DELIVERING}),
    "reminded": (lambda h: h.reminded(at=f.NOW, schedule=SCHEDULE), {HandoffState.DELIVERED}),
    "escalated": (lambda h: h.escalated_to_counsellor(at=f.NOW, schedule=SCHEDULE), {HandoffState.DELIVERED}),
    "transferred": (lambda h: h.closed(HandoffState.TRANSFERRED, actor=ELS, at=f.NOW, lease=LEASE),
                    {HandoffState.DELIVERING, HandoffState.DELIVERED}),
    "returned": (lambda h: h.closed(HandoffState.RETURNED, actor=ELS, at=f.NOW, lease=LEASE),
                 {HandoffState.DELIVERING, HandoffState.DELIVERED}),
    "expired": (lambda h: h.expired(at=f.NOW, lease=LEASE), {HandoffState.DELIVERED}),
    "given_up": (lambda h: h.given_up(at=f.NOW, lease=LEASE, status=None), {HandoffState.DELIVERING}),
    "withdrawn": (lambda h: h.withdrawn("recipient_changed", at=f.NOW, lease=LEASE),
                  {HandoffState.DELIVERING, HandoffState.DELIVERED}),
    # issue 14: the counsellor's correction and withdrawal
    "corrected": (lambda h: h.corrected(f.client().content, actor=f.COUNSELLOR, draft_id="d-2", at=f.NOW,
                                        lease=LEASE), {HandoffState.DELIVERED}),
    "correcting": (lambda h: Draft.correcting(h, id="d-2", address=f.ADDRESS, now=f.NOW, ttl=LEASE),
                   {HandoffState.DELIVERED}),
    "stale_card_removed": (lambda h: h._with(stale_delivery=DELIVERY).stale_card_removed(
        overwritten=True, deleted=True, status=None, retryable=False, at=f.NOW), {HandoffState.DELIVERING}),
    "withdrawn_by_counsellor": (lambda h: h.withdrawn_by_counsellor(actor=f.COUNSELLOR, at=f.NOW, lease=LEASE),
                                {HandoffState.DELIVERED}),
    "followed_up": (lambda h: h.followed_up(), {HandoffState.TRANSFERRED, HandoffState.RETURNED,
                                               HandoffState.EXPIRED, HandoffState.UNDELIVERABLE,
                                               HandoffState.WITHDRAWN}),
}


def in_state(state: HandoffState) -> Handoff:
    handoff = delivered() if state is not HandoffState.DELIVERING else recorded()
    if not state.is_open:
        handoff = handoff._with(state=state, client=None, follow_up=True)
    return handoff


@pytest.mark.parametrize("step", ILLEGAL_HANDOFF_STEPS)
@pytest.mark.parametrize("state", list(HandoffState))
def test_a_handoff_step_from_the_wrong_state_is_refused(step, state):
    transition, allowed = ILLEGAL_HANDOFF_STEPS[step]
    if state in allowed:
        assert transition(in_state(state)).record is not None
    else:
        with pytest.raises(IllegalTransition):
            transition(in_state(state))


@pytest.mark.parametrize("outcome", [s for s in HandoffState if s not in (HandoffState.TRANSFERRED,
                                                                        HandoffState.RETURNED)])
def test_only_the_recipients_outcomes_close_by_click(outcome):
    with pytest.raises(IllegalTransition):
        delivered().closed(outcome, actor=ELS, at=f.NOW, lease=LEASE)


@pytest.mark.parametrize("handoff", [recorded(), delivered()], ids=["queued", "delivered"])
def test_withdrawn_purges_without_an_incident_and_says_why(handoff):
    change = handoff.withdrawn("recipient_changed", at=f.NOW, lease=LEASE)
    assert change.record.state is HandoffState.WITHDRAWN and change.record.client is None
    assert change.record.closed_because == "recipient_changed" and change.record.follow_up
    assert names(change) == ["withdrawn", "purged"] and change.events[0].reason == "recipient_changed"


def test_unidentified_goes_back_to_identification_without_the_client():
    change = f.draft().unidentified("no_active_inburgeringstraject", f.NOW)
    assert change.record.stage is Stage.IDENTIFY and change.record.client is None and change.record.recipient is None
    assert names(change) == ["refused"] and change.events[0].reason == "no_active_inburgeringstraject"


def test_a_follow_up_that_is_done_cannot_be_done_again():
    done = delivered().closed(HandoffState.TRANSFERRED, actor=ELS, at=f.NOW, lease=LEASE).record.followed_up().record
    with pytest.raises(IllegalTransition):
        done.followed_up()


def test_every_audit_name_a_transition_emits_is_in_the_vocabulary():
    emitted = {e.event for step in ILLEGAL_HANDOFF_STEPS.values() for s in step[1]
               for e in _events_or_none(step[0], in_state(s))}
    assert emitted <= set(AuditName)


def _events_or_none(transition, handoff):
    try:
        return transition(handoff).events
    except IllegalTransition:
        return ()


def test_a_closed_envelope_is_kept_then_forgotten():
    closed = delivered().closed(HandoffState.TRANSFERRED, actor=ELS, at=f.NOW, lease=LEASE).record
    with pytest.raises(IllegalTransition):
        closed.forgotten(f.NOW)  # the card's removal and the notices come first
    done = closed.followed_up(keep_until=f.NOW + timedelta(days=365)).record
    assert done.due_at == f.NOW + timedelta(days=365)
    change = done.forgotten(f.NOW + timedelta(days=365))
    assert change.delete and names(change) == ["record_deleted"] and change.events[0].reason == "retention"
    with pytest.raises(IllegalTransition):
        delivered().forgotten(f.NOW)  # an open one is never forgotten


# -- the trajectbegeleider's side (issue 14): Doorsturen, the backup -----------------------------

JAN = f.RECIPIENT.model_copy(update={"aad_object_id": "aad-jan", "naam": "Jan Janssens"})


def test_reassigned_goes_back_to_the_outbox_for_the_colleague_and_keeps_the_old_copy_to_remove():
    handoff = delivered().reminded(at=f.NOW, schedule=SCHEDULE).record
    change = handoff.reassigned(JAN, reason="colleague", at=f.NOW, lease=LEASE, actor="aad-els")
    moved = change.record
    assert moved.state is HandoffState.DELIVERING and moved.recipient == JAN and moved.delivery is None
    assert moved.stale_copy == DELIVERY and moved.attempts == handoff.attempts + 1 and moved.due_at == f.NOW + LEASE
    assert moved.reminders_sent == 0 and not moved.escalated and moved.client == handoff.client
    assert moved.pending_key is None  # in nobody's list until it landed
    assert [(e.event.value, e.reason, e.actor) for e in change.events] == [("reassigned", "colleague", "aad-els")]
    # the copy goes first, then it is delivered to Jan: not counted as a second send (art. 5)
    removed = moved.copy_removed(overwritten=True, deleted=True, status=None, retryable=False, at=f.NOW)
    assert removed.record.stale_copy is None and names(removed) == ["card_overwritten", "card_deleted"]
    landed = removed.record.delivered(Delivery(address=f.ADDRESS, activity_id="act-2", attempt=moved.attempts),
                                      at=f.NOW, schedule=SCHEDULE)
    assert landed.mark_sent is None and landed.record.pending_key == f"{JAN.tenant_id}|aad-jan"


def test_reassigned_never_to_another_agency_nor_to_the_same_person():
    from bot.domain.model import Agency

    with pytest.raises(IllegalTransition):
        delivered().reassigned(JAN.model_copy(update={"agentschap": Agency.AMAL}), reason="colleague", at=f.NOW,
                               lease=LEASE)
    with pytest.raises(IllegalTransition):
        delivered().reassigned(f.RECIPIENT, reason="colleague", at=f.NOW, lease=LEASE)


@pytest.mark.parametrize("state", list(HandoffState))
def test_reassigned_only_from_delivered(state):
    if state is HandoffState.DELIVERED:
        assert in_state(state).reassigned(JAN, reason="backup", at=f.NOW, lease=LEASE).record.recipient == JAN
    else:
        with pytest.raises(IllegalTransition):
            in_state(state).reassigned(JAN, reason="backup", at=f.NOW, lease=LEASE)


@pytest.mark.parametrize(("overwritten", "deleted", "retryable", "kept", "events"), [
    (True, False, True, False, ["card_overwritten", "card_delete_failed"]),  # content gone: done
    (False, False, True, True, ["card_delete_failed"]),  # tried again before the new copy is posted
    (False, False, False, False, ["card_delete_failed", "incident"]),  # content may be left: art. 9
])
def test_a_copy_that_could_not_be_removed(overwritten, deleted, retryable, kept, events):
    moved = delivered().reassigned(JAN, reason="colleague", at=f.NOW, lease=LEASE).record
    change = moved.copy_removed(overwritten=overwritten, deleted=deleted, status=503, retryable=retryable, at=f.NOW)
    assert (change.record.stale_copy is not None) is kept and names(change) == events


@pytest.mark.parametrize("state", list(HandoffState))
def test_copy_removed_only_while_a_reassigned_handoff_is_in_the_outbox(state):
    with pytest.raises(IllegalTransition):  # no previous copy, or not in the outbox
        in_state(state).copy_removed(overwritten=True, deleted=True, status=None, retryable=False, at=f.NOW)


# -- "Overgezet" with an undo window (issue 14) --------------------------------------------------


def test_transfer_offered_then_undone_or_closed_after_the_window():
    until = f.NOW + timedelta(minutes=10)
    offered = delivered().transfer_offered(actor=ELS, at=f.NOW, until=until)
    assert offered.record.undo_until == until and offered.record.due_at == until
    assert offered.record.client is not None and offered.record.pending_key is None
    assert [(e.event.value, e.reason) for e in offered.events] == [("transfer_undoable", "10")]
    assert SCHEDULE.step(offered.record, until) == "transfer" and SCHEDULE.step(offered.record, f.NOW) is None
    undone = offered.record.transfer_undone(actor=ELS, at=f.NOW + timedelta(minutes=9), schedule=SCHEDULE)
    assert undone.record.undo_until is None and undone.record.due_at == SCHEDULE.due(delivered())
    assert names(undone) == ["transfer_undone"]
    with pytest.raises(IllegalTransition):  # too late
        offered.record.transfer_undone(actor=ELS, at=until, schedule=SCHEDULE)
    with pytest.raises(IllegalTransition):  # too early
        offered.record.transfer_window_passed(at=f.NOW, lease=LEASE)
    closed = offered.record.transfer_window_passed(at=until, lease=LEASE)
    assert closed.record.state is HandoffState.TRANSFERRED and closed.record.client is None
    assert names(closed) == ["transferred", "purged"] and closed.events[0].actor == ELS.aad_object_id


@pytest.mark.parametrize("state", list(HandoffState))
def test_the_undo_window_opens_only_on_a_delivered_card(state):
    until = f.NOW + timedelta(minutes=10)
    if state is HandoffState.DELIVERED:
        assert in_state(state).transfer_offered(actor=ELS, at=f.NOW, until=until).record.undo_until == until
    else:
        with pytest.raises(IllegalTransition):
            in_state(state).transfer_offered(actor=ELS, at=f.NOW, until=until)
    with pytest.raises(IllegalTransition):  # no window open
        in_state(state).transfer_undone(actor=ELS, at=f.NOW, schedule=SCHEDULE)


def test_toon_in_another_message_moves_the_live_copy_and_keeps_the_old_to_remove():
    change = delivered().shown_in("act-9")
    moved = change.record
    assert moved.delivery.activity_id == "act-9" and moved.live_attempt == moved.attempts == 2
    assert moved.stale_copy == DELIVERY and change.events == ()
    removed = moved.copy_removed(overwritten=True, deleted=True, status=None, retryable=False, at=f.NOW)
    assert [(e.event.value, e.reason) for e in removed.events] == [("card_overwritten", "moved"),
                                                                   ("card_deleted", "moved")]
    with pytest.raises(IllegalTransition):  # one move at a time
        moved.shown_in("act-10")


@pytest.mark.parametrize("state", [s for s in HandoffState if s is not HandoffState.DELIVERED])
def test_toon_moves_only_a_delivered_card(state):
    with pytest.raises(IllegalTransition):
        in_state(state).shown_in("act-9")
# -- issue 14: the counsellor corrects or withdraws a sent, unconfirmed terugkoppeling -----------

NEW_CONTENT = f.client().content.model_copy(update={"jobdoelwit": "Zorg"})


def test_a_correction_draft_starts_at_the_form_with_what_was_sent_and_no_fingerprint():
    sent = delivered()
    change = Draft.correcting(sent, id="d-2", address=f.ADDRESS, now=f.NOW, ttl=timedelta(hours=24))
    draft = change.record
    assert draft.stage is Stage.COMPOSE and draft.client == sent.client and draft.recipient == sent.recipient
    assert draft.corrects == sent.id and draft.corrects_reference == sent.reference and draft.fingerprint is None
    assert names(change) == ["started"] and change.events[0].reason == "correction"
    with pytest.raises(IllegalTransition):  # purged: nothing to correct
        Draft.correcting(sent._with(client=None), id="d-3", address=f.ADDRESS, now=f.NOW, ttl=LEASE)


def test_corrected_queues_the_new_content_and_keeps_the_old_card_to_remove_first():
    sent = delivered()._with(reminders_sent=2, escalated=True)
    change = sent.corrected(NEW_CONTENT, actor=f.COUNSELLOR, draft_id="d-2", at=f.NOW, lease=LEASE)
    queued = change.record
    assert queued.state is HandoffState.DELIVERING and queued.client.content.jobdoelwit == "Zorg"
    assert queued.client.identity == sent.client.identity
    assert queued.stale_delivery == DELIVERY and queued.delivery is None and queued.attempts == sent.attempts + 1
    assert queued.reminders_sent == 0 and not queued.escalated and queued.due_at == f.NOW + LEASE
    assert names(change) == ["corrected"] and change.drop_draft == "d-2" and change.mark_sent is None
    assert change.events[0].actor == f.COUNSELLOR.aad_object_id
    with pytest.raises(IllegalTransition):  # only its own counsellor
        sent.corrected(NEW_CONTENT, actor=f.OTHER_COUNSELLOR, draft_id="d-2", at=f.NOW, lease=LEASE)


def test_the_corrected_card_arriving_is_no_repeat_under_art_5():
    queued = delivered().corrected(NEW_CONTENT, actor=f.COUNSELLOR, draft_id="d-2", at=f.NOW, lease=LEASE).record
    removed = queued.stale_card_removed(overwritten=True, deleted=True, status=None, retryable=False, at=f.NOW)
    assert removed.record.stale_delivery is None and names(removed) == ["card_overwritten", "card_deleted"]
    new = Delivery(address=f.ADDRESS, activity_id="act-2", attempt=queued.attempts)
    arrived = removed.record.delivered(new, at=f.NOW, schedule=SCHEDULE)
    assert arrived.record.state is HandoffState.DELIVERED and arrived.record.delivery == new
    assert arrived.mark_sent is None and names(arrived) == ["correction_delivered"]  # not "sent" again
    assert arrived.events[0].reason == "1"
    assert "incident" not in names(arrived)


def test_a_replaced_card_deleted_without_its_overwrite_is_gone_all_the_same():
    queued = delivered().corrected(NEW_CONTENT, actor=f.COUNSELLOR, draft_id="d-2", at=f.NOW, lease=LEASE).record
    change = queued.stale_card_removed(overwritten=False, deleted=True, status=503, retryable=True, at=f.NOW)
    assert change.record.stale_delivery is None and names(change) == ["card_deleted"]


@pytest.mark.parametrize(("overwritten", "retryable", "kept", "events"), [
    (False, True, True, ["card_delete_failed"]),
    (True, True, False, ["card_overwritten", "card_delete_failed"]),
    (False, False, False, ["card_delete_failed", "incident"]),
])
def test_the_replaced_card_must_lose_its_content_before_the_new_one_goes_out(overwritten, retryable, kept, events):
    queued = delivered().corrected(NEW_CONTENT, actor=f.COUNSELLOR, draft_id="d-2", at=f.NOW, lease=LEASE).record
    change = queued.stale_card_removed(overwritten=overwritten, deleted=False, status=503, retryable=retryable,
                                       at=f.NOW)
    assert (change.record.stale_delivery is not None) is kept and names(change) == events


def test_withdrawn_by_the_counsellor_purges_without_an_incident_and_needs_no_notice_to_them():
    change = delivered().withdrawn_by_counsellor(actor=f.COUNSELLOR, at=f.NOW, lease=LEASE)
    closed = change.record
    assert closed.state is HandoffState.WITHDRAWN and closed.client is None and closed.follow_up
    assert closed.closed_because == "by_counsellor" and closed.counsellor_told
    assert names(change) == ["withdrawn", "purged"] and change.events[0].actor == f.COUNSELLOR.aad_object_id
    with pytest.raises(IllegalTransition):
        delivered().withdrawn_by_counsellor(actor=f.OTHER_COUNSELLOR, at=f.NOW, lease=LEASE)
