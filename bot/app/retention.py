"""The bot's own retention (issue 15), one step of the sweep: client fingerprints past their period
are deleted, and audit events past theirs are pruned behind a checkpoint that anchors the chain.

Both find their work through an index (fingerprints by when they were last sent; events by their
number, oldest first), never by reading every record, and each write carries its audit event: a
count and a period, never a fingerprint or a pruned event's content.

The checkpoint is sealed with an HMAC under the audit key, like the chain's links, and signed with
the evidence signing key (Ed25519) when the deployment has one, so that whoever can verify an
export can check it too. Before a stretch of events is pruned, its links are checked: a checkpoint
never vouches for a chain that did not verify.
"""

from __future__ import annotations

import base64
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bot.app import signing
from bot.app.ports import Clock, Conflict, Events, Store
from bot.domain.audit import GENESIS, Checkpoint, checkpoint_seal, link
from bot.domain.model import AuditEvent, AuditName
from bot.domain.retention import Retention

log = logging.getLogger(__name__)
Signer = Callable[[], Awaitable[Ed25519PrivateKey | None]]
PRUNE_PER_SWEEP = 5000  # audit events one sweep prunes at most (the next sweep goes on)


async def _no_signer() -> Ed25519PrivateKey | None:
    return None


class RetentionSweep:
    """The sweep's retention step (``Terugkoppeling.sweep``)."""

    def __init__(self, *, store: Store, clock: Clock, rules: Retention, audit_key: bytes,
                 signer: Signer | None = None) -> None:
        self.store = store
        self.clock = clock
        self.rules = rules
        self.audit_key = audit_key
        self.signer = signer or _no_signer

    async def sweep(self, batch: int = 100) -> Counter[str]:
        """One failing part is reported and counted as failed; it never stops the other."""
        done: Counter[str] = Counter()
        for label, part in (("fingerprints_deleted", self.fingerprints), ("audit_events_pruned", self.audit)):
            try:
                if count := await part(batch):
                    done[label] += count
            except Exception as error:  # noqa: BLE001 - reported, retried at the next sweep
                log.error("retention step failed", extra={"step": label, "error": type(error).__name__})
                done["failed"] += 1
        return done

    async def fingerprints(self, batch: int = 100) -> int:
        """Art. 5 needs a fingerprint only while a second terugkoppeling could follow."""
        now = self.clock.now()
        before = self.rules.fingerprints_before(now)
        why = "protocol ended" if before == now else f"last sent before {before.date().isoformat()}"

        def events(count: int) -> Events:
            return [AuditEvent(at=now, event=AuditName.FINGERPRINTS_DELETED, subject="fingerprints",
                               reason=f"{count} ({why})")]

        total = 0
        while count := await self.store.forget_fingerprints(before, batch, events):
            total += count
            if count < batch:
                break
        if total:
            log.info("fingerprints deleted", extra={"count": total})
        return total

    async def audit(self, batch: int = 1000) -> int:
        """Prune the oldest events past the period, behind a new checkpoint; how many."""
        now = self.clock.now()
        before = self.rules.audit_before(now)
        if before is None:
            return 0
        previous = await self.store.audit_checkpoint()
        old = await self._old_events(previous, before, max(batch, 100))
        if not old:
            return 0
        if (broken := self._broken_link(previous, old)) is not None:
            log.error("audit prune refused: the chain does not verify", extra={"seq": broken})
            raise ChainBroken(broken)
        checkpoint = Checkpoint(
            seq=old[-1].seq or 0, mac=old[-1].mac or "", count=(previous.count if previous else 0) + len(old),
            first_at=previous.first_at if previous else min(e.at for e in old),
            last_at=max([e.at for e in old] + ([previous.last_at] if previous else [])), made_at=now,
        )
        checkpoint = checkpoint.model_copy(update={"seal": checkpoint_seal(self.audit_key, checkpoint)})
        if (key := await self.signer()) is not None:
            checkpoint = checkpoint.model_copy(update={
                "signature": base64.b64encode(key.sign(checkpoint.signed_bytes())).decode(),
                "signed_by": signing.fingerprint(key.public_key())})
        event = AuditEvent(at=now, event=AuditName.AUDIT_PRUNED, subject="audit", reason=(
            f"{len(old)} events #{old[0].seq}-#{old[-1].seq} "
            f"({min(e.at for e in old).date().isoformat()} to {max(e.at for e in old).date().isoformat()})"))
        try:
            await self.store.prune_audit(checkpoint, previous, [event])
        except Conflict:
            return 0  # another sweeper pruned first
        log.info("audit events pruned", extra={"count": len(old), "seq": checkpoint.seq})
        return len(old)

    async def _old_events(self, previous: Checkpoint | None, before: datetime, batch: int) -> list[AuditEvent]:
        """The trail's oldest events up to the first that is not old yet (the chain is pruned as a
        prefix, so an event out of time order never takes a newer one with it)."""
        old: list[AuditEvent] = []
        after = previous.seq if previous else 0
        size = 1  # most sweeps find the oldest event young: one event read, and done
        while len(old) < PRUNE_PER_SWEEP:
            chunk = await self.store.audit_after(after, size)
            for event in chunk:
                if event.at >= before:
                    return old
                old.append(event)
            if len(chunk) < size:
                break
            after, size = chunk[-1].seq or after, batch
        return old

    def _broken_link(self, previous: Checkpoint | None, events: list[AuditEvent]) -> int | None:
        mac, expected = (previous.mac, previous.seq + 1) if previous else (GENESIS, 1)
        for event in events:
            if event.seq != expected or event.mac != link(self.audit_key, mac, event, expected):
                return expected
            mac, expected = event.mac, expected + 1
        return None


class ChainBroken(Exception):
    """The events to prune do not verify: nothing is pruned (``audit verify`` names the break)."""

    def __init__(self, seq: int) -> None:
        super().__init__(f"audit chain broken at event #{seq}: not pruned")
        self.seq = seq
