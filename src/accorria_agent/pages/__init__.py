"""Connecting Facebook Pages to a seller account: Facebook Login (OAuth), token health, disconnecting."""
