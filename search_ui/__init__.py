"""The Flask app: shopper search and entity pages, JSON API, analyst overlap, operator pages.

``app.create_app`` is the factory; blueprints: ``search`` (``/``, ``/pres-de-moi``),
``entities`` (``/boutiques/<id>``, ``/produits/<id>``), ``api`` (``/api/...``),
``overlap`` (``/overlap``), ``operator`` (``/sources``). ``server.serve`` runs it
under gunicorn (``agora serve``, ``agora demo``).
"""
