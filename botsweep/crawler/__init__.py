"""The crawler: Source (X API v2 via tweepy), rate-limit ledger, frontier, policies, engine."""
