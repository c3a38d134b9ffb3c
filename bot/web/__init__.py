"""The public pages, served by the bot itself on ``[web] host:port``.

A landing page, a page per maxim whose link unfurls as its card, the cards, privacy and
support: `site` (what they show besides the maxims), `pages` (rendering, kept once rendered),
`assets` (the files they load), `responses` (headers, ETags, error pages), `routes` and
`serving` (their life beside the bot).

Importing this package loads neither aiohttp nor Jinja2: `bot.web.serving.serve_pages` loads
them when ``[web] enabled = true``, so the console bot and the ``maxim`` command never pay
for them.
"""

from __future__ import annotations
