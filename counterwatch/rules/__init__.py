"""Behaviour rules: WindowState stream -> IncidentEvents. Pure Python, deterministic, driven by frame timestamps."""
