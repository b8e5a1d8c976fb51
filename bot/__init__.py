"""Terugkoppeling-bot: VDAB counsellors report back to a client's trajectbegeleider via Teams."""
