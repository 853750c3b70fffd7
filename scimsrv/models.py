"""Every table of the database on one metadata: the licensing core's and scimsrv's."""

from licensing_core.tables import Base

metadata = Base.metadata
