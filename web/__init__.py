"""Faust web views and the dashboard's static files."""
