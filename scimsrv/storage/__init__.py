"""Persistence: the :class:`~scimsrv.storage.protocol.Storage` protocol the use
cases speak, its SQLAlchemy implementation over SQLite and PostgreSQL
(:mod:`scimsrv.storage.sql`), filters and sort keys as SQL, cursors, the
tables and their migrations."""
