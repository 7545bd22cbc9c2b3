"""Questions the listing cannot answer: asked of the seller, answered back to the buyer, kept as facts."""
