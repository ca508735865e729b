"""The signing tables: signers and their keys, batches, organisation keys and automatic signing."""

from signing.models.batches import RUN_STALE_AFTER, Batch, BatchItem
from signing.models.organisation import (
    AutoSignature,
    AutoSignPolicy,
    OrganisationKey,
    officials_key_reasons,
    refuse_officials_key,
)
from signing.models.signers import KeyKind, OfficeSigningPolicy, Signer

__all__ = [
    "RUN_STALE_AFTER",
    "AutoSignPolicy",
    "AutoSignature",
    "Batch",
    "BatchItem",
    "KeyKind",
    "OfficeSigningPolicy",
    "OrganisationKey",
    "Signer",
    "officials_key_reasons",
    "refuse_officials_key",
]
