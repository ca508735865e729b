"""The motcua Django project: settings, Celery app (``motcua.celery``), URL map, command line."""

import warnings

# pyHanko imports cryptography's DSA types, deprecated since cryptography 47: every command
# and role would print that warning to the person running it. motcua never makes or accepts
# DSA keys (signing.keys.certificates refuses them); the tests keep the same filter.
warnings.filterwarnings("ignore", message="DSA is deprecated", module=r"pyhanko\.")
