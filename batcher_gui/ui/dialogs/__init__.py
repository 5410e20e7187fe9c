"""Dialogs: importing a file, Preferences (profiles, keys, workspace settings), Delivery."""
