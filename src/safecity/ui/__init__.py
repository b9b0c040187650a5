"""The browser console (NiceGUI)."""
