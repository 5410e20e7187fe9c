"""What every part of the window stands on: the event loop, background tasks, the theme,
message boxes, the crash dialog and workarounds for the Qt binding."""
