"""Access: requests, DAC review and decisions, entitlements, GA4GH Passport visas, audit and notifications."""
