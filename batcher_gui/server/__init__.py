"""HTTP faces of a workspace: the headless engine's health and metrics (``batcher serve``) and
the intake API. An entry layer beside ``cli`` and ``ui``: it calls the service, holds no rule."""
