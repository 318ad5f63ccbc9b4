"""Storage: models, engine and sessions, migrations. The only place that speaks SQL."""

from .db import Study, database_url, make_engine, upgrade
from . import models

__all__ = ["Study", "database_url", "make_engine", "upgrade", "models"]
