"""The signing agent: pyHanko kept loaded so that ``motcua sign`` starts at once.

``server`` is the resident process (``motcua sign-agent``, started by ``motcua run``);
``client`` is what ``motcua sign`` uses to hand it a command; ``protocol`` is what
they say to each other. The command and the protocol import no library beyond Python's own.
"""
