"""Sellers, their listings, their connected Facebook Pages (tenants) and their Messenger settings."""
