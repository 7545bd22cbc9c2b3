"""Buyer conversations: their messages, negotiation state and the reply pipeline."""
