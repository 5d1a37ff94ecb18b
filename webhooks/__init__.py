"""Webhooks: signed notifications to users' own endpoints when their videos finish."""
