"""Test drives: the seller's availability, bookings made from the conversation, reminders, calendars."""
