"""Ledger-checked memory reads: at the Advanced and Optimized tiers the ledger, not worker memory, says what a
read should return.

The memory detector compares a ``memory_read``'s hash with the entry it keeps in its state
(``memory.entry``). That state lives in the worker (in process memory with the fast engine), so a restart
forgets it and a read after the restart was never checked. :class:`LedgerReads` makes the ledger
authoritative: before detection it looks up, in one query per batch, the current ledger entry (latest
untainted version, see :func:`soar.memory.ledger.current_entries`) of every (agent, store, key) the batch
reads, and writes it into the detector's state. A read whose hash differs is then a ``memory_tampering``
finding whether or not this worker saw the write. Writes earlier in the same batch still win, because the
detector applies them in event order after the priming. At the Foundation tier nothing is looked up (the
detector's own state, as before).
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from soar.config import Tier
from soar.detect.base import StateStore
from soar.detect.memory import ENTRY_NS
from soar.ingest.decoders import Ingested
from soar.memory.ledger import Slot, current_entries
from soar.telemetry.events import UNTRUSTED_SOURCES, MemoryReadEvent, is_restore_confirmation

log = structlog.get_logger(__name__)

CHECKED_TIERS = frozenset({Tier.ADVANCED, Tier.OPTIMIZED})


class LedgerReads:
    """Primes the memory detector's state from the ledger for the reads of each batch (Advanced/Optimized)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], state: StateStore, tier: Tier) -> None:
        self.sessionmaker = sessionmaker
        self.state = state
        self.enabled = tier in CHECKED_TIERS
        self.lookups = 0  # queries run (for tests and metrics)

    async def prime(self, parsed: Sequence[Ingested]) -> int:
        """Load the ledger's current entry of every slot read in ``parsed`` into the state; returns slots primed."""
        if not self.enabled:
            return 0
        slots: set[Slot] = set()
        for item in parsed:
            ev = item.event
            if isinstance(ev, MemoryReadEvent) and not is_restore_confirmation(ev):
                slots.add((ev.agent_id, ev.payload.store, ev.payload.key))
        if not slots:
            return 0
        async with self.sessionmaker() as session:
            entries = await current_entries(session, slots)
        self.lookups += 1
        for (agent_id, store, key), rec in entries.items():
            if rec is None:  # every version was rolled back: the key was deleted
                entry = {"h": "", "trust": "trusted", "src": "system", "eid": None}
            else:
                trust = "untrusted" if rec.source in UNTRUSTED_SOURCES else "trusted"
                entry = {"h": rec.value_hash, "trust": trust, "src": rec.source, "eid": rec.event_id}
            self.state.set(ENTRY_NS, f"{agent_id}|{store}|{key}", entry)
        return len(entries)
