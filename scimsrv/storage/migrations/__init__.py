"""Alembic migrations for the whole database (licensing core and SCIM storage)."""
