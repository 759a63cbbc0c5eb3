"""History data contracts, ingestion, point-in-time features and their catalogue."""
