"""The mail edge: outgoing email behind a small interface (SMTP in production, a local server in the demo)."""
