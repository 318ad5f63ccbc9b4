"""Storage: models, engine and sessions, migrations. The only place that speaks SQL."""

from . import models
from .db import Study, database_url, make_engine, upgrade

__all__ = ["Study", "database_url", "make_engine", "upgrade", "models"]
