"""Nextstep's domain: availability, plans, booking, offers, invites, the log and sync.

Nothing below this package imports Flask; the web app is one shell around it.
"""
