"""Parsing helpers shared by several crawlers: sitemaps, schema.org objects and their types.

Pure functions of a page's bytes or text, tested on strings; a helper used by one
crawler lives next to it and moves here when a second one needs it.
"""
