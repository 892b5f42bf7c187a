"""Membership-inference defence of the Beacon: an information budget per account, charged per answer."""
