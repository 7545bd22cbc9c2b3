"""Live updates for the seller's dashboards: "something changed" events, across processes, to browsers."""
