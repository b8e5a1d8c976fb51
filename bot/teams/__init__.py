"""The Teams adapter: the only package that imports botbuilder.

It translates Bot Framework activities into calls on ``bot.app.services.Terugkoppeling`` and
the results into Adaptive Cards, and implements the ``Messenger`` port with proactive messages.
"""
