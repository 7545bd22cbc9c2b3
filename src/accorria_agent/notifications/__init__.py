"""Seller notifications outside the dashboard: email (immediate or a daily digest), a signed webhook."""
