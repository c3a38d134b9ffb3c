"""Discord: the adapter package, imported only when Discord is configured."""
