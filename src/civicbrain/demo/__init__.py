"""The demo city: agencies, a few hundred synthetic residents, users for every role."""
