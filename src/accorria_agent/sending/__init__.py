"""Sending: the send-time gate, the kill switch and per-Page pause, held replies, delivery jobs.

Above the Meta edge (``messenger/``): it decides *whether* and *when* a stored outbound intent goes out and
records the result; ``messenger/`` only knows how to say it to Meta.
"""
