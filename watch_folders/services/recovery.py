"""At the watcher's start: claims a crash interrupted are finished, not handed back."""

from __future__ import annotations

import logging

from watch_folders.models import Intake
from watch_folders.services.batches import resume_batch
from watch_folders.services.claim import (
    finish_refusals,
    recover_orphans,
    resume_folder,
    resume_refusal,
)
from watch_folders.services.journal import Claim, close_claim, pending_claims, take
from watch_folders.services.loose import resume_loose

__all__ = ["resume_claim", "resume_claims"]

log = logging.getLogger(__name__)


def resume_claim(claim: Claim) -> str:
    """Finish one journalled claim; say what was done (for the log)."""
    if Intake.objects.filter(claim_id=claim.claim_id).exists():
        finish_refusals(claim.claim_id)  # rows committed: only moves into failed/ may be owed
        return "rows already written"
    if not take(claim):
        return "nothing left to take"
    if claim.action == "batch":
        return f"batch resumed: {len(resume_batch(claim))} parts"
    if claim.action == "loose":
        return f"loose files resumed: {resume_loose(claim).outcome}"
    if claim.action == "refuse":
        return f"refusal resumed: {resume_refusal(claim).outcome}"
    return f"folder resumed: {resume_folder(claim).outcome}"


def resume_claims() -> list[str]:
    """Finish every claim left open by a stopped watcher, then recover older orphans."""
    done = []
    for claim in pending_claims():
        try:
            outcome = resume_claim(claim)
        except Exception:
            log.exception("could not resume claim %s; its journal is kept", claim.claim_id)
            continue
        close_claim(claim)
        log.warning("interrupted claim %s (%s) finished: %s", claim.claim_id, claim.name, outcome)
        done.append(outcome)
    for kept in recover_orphans():
        log.warning("interrupted intake recovered at %s", kept)
    return done
