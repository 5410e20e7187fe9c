"""The main window, composed: its parts, the workspace session it shows, its commands."""
