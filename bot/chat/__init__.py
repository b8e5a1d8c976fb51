"""What both Teams hosts do alike, imported by neither SDK (issue 16).

``bot.teams`` (botbuilder) and ``bot.agents`` (the Microsoft 365 Agents SDK) are thin adapters:
they parse the activity with their SDK, hand it to ``bot.chat.turns`` and send or update what it
answers through their SDK. ``turns`` holds the one table of verbs → use cases (``VERBS``) and the
one function result → card (``card_for``); ``delivery`` holds what the two messengers share, and
``inbound`` what the two endpoints check of an incoming body.
"""
