"""Streamlit-side helpers shared by the pages: store access, current project, error display."""
