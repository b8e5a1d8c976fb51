"""The Teams host on the Microsoft 365 Agents SDK (``BOT_HOST=agents``): the only package that
imports ``microsoft_agents``.

The SDK authenticates (its ``JwtTokenValidator`` for incoming tokens, its MSAL connections for
outgoing ones) and parses activities (its ``Activity`` model); Bot Connector calls are plain
JSON on one keep-alive session. Cards, texts, invoke parsing and the use cases are shared with
the botbuilder host (``bot.teams``).
"""
