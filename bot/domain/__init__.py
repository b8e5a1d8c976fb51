"""The protocol's rules as plain Python: template, validation, eligibility, state.

Nothing in this package imports botbuilder, aiohttp or a storage library.
"""
