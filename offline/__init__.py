"""The program run without an engine or a cloud: `python -m offline preview|render|diff|simulate|docs`."""
