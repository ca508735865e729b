"""The batch signing engine: jobs, the per-batch signer, forked workers, running a batch."""
