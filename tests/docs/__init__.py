"""What the documents promise a reader: links that lead somewhere, a README that stays short."""
