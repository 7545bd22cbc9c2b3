"""Listings: the seller's cars (create, edit, archive), their photos, m.me links, QR codes and signs."""
