"""The catalogue: database, settings, errors, identity, and the datasets, samples and variant index."""
