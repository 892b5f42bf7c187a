"""GA4GH Beacon v2: request parsing, query normalisation, granularity rules, answers and the HTTP sub-app."""
