"""Analytics: a seller's conversations, funnel and rates over a date range, computed by SQL."""
