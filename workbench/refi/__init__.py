"""REFI-QDA exchange (https://www.qdasoftware.org): one reader and writer of the XML formats,
validated against the schemas in `schemas/` (copied unchanged from the standard)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

SCHEMAS = Path(__file__).with_name("schemas")
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
PROJECT_NS = "urn:QDA-XML:project:1.0"


@lru_cache(maxsize=2)
def schema(name: str):
    from lxml import etree

    return etree.XMLSchema(etree.parse(str(SCHEMAS / name)))
