"""Deals: a buyer and a listing from the agreed price to a sold car (or a lost buyer), as recorded events."""
