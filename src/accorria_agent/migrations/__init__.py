"""Alembic migrations, shipped in the package so ``accorria-agent migrate`` works after ``pip install``."""
