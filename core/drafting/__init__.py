"""Drafting replies: the provider interface, the offline drafter and the draft job."""
