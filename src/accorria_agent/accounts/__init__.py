"""Seller accounts: members (owner, staff), sign-in sessions, invitations, the audit trail."""
