"""Privacy: Meta's deletion and deauthorize callbacks, buyer erasure, account deletion, retention, export."""
