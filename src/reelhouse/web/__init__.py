"""reelhouse.web: server-rendered pages (the embed player) and the static files they load.

Mount :func:`reelhouse.web.static.static_mount` and :func:`reelhouse.web.embed.embed_routes`
on the application; JavaScript libraries from npm are copied into ``static/vendor/`` by
``make install``.
"""
