"""Negotiation: understand a buyer message, decide within the seller's rules, phrase and guard the reply.

Everything in this package except ``llm.py`` is pure: no I/O, no clock reads (times are passed in),
so that it can be tested exhaustively and used identically by the web pipeline and the benchmarks.
"""
