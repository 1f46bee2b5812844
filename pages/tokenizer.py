"""Placeholder until this page lands."""

import streamlit as st

st.title("Coming next")
st.info("This page is being built; see the README's roadmap.")
