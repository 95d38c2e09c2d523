"""Traffic-police service account backend."""
