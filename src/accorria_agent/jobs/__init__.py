"""The job-queue interface and its adapters (embedded SQLite in-process; PostgreSQL in production)."""
