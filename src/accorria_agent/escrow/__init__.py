"""The escrow edge: Accorria's escrow API behind a small Protocol, its webhook signature, and the fee rule.

``interface.py`` is what the deals domain depends on (``EscrowProvider`` and an in-memory double);
``client.py`` is the httpx client of the assumed Accorria API (contract in ``docs/escrow.md``);
``signature.py`` signs and verifies status webhooks; ``fees.py`` computes the 0.9 % fee.
"""
