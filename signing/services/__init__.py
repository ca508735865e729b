"""The signing service layer: batches, approvals, decisions, running a batch, automatic signing."""
