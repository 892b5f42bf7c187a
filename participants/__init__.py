"""The participant side: people linked to their samples by a keyed hash see, download and decide about their data."""
