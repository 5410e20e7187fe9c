"""The window's panes and widgets: the prompts panel, the detail pane, the status bar, the
banner, the welcome panel, the spend chart, notifications."""
