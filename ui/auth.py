"""Sign-in for the app (TWEET_LABELER_AUTH; `labeler.team.auth` says what each mode means).

`require_sign_in(store)` runs in app.py before any page: with sign-in on it lets a page run only
for a signed-in person, whose name every label then carries (`ui.common.annotator`).

password: a form (name, password). On success the store makes a session and the browser keeps its
token in a cookie (`COOKIE`, set by a small script, SameSite=Strict, path=/, expires with the
session), so a reload stays signed in: Streamlit hands the cookies of the page's connection to
`st.context.cookies`, and the token is looked up again (the store holds only its SHA-256).
Signing out ends the session in the store and clears the cookie. The cookie is not HttpOnly (a
script sets it); the app renders no user text as HTML (tests/test_no_markup.py), and a stolen
token dies at sign-out or after 14 days.

oidc: Streamlit's own login (`st.login`, needs `pip install Authlib`) against the lab's identity
provider; the name is the e-mail address it reports. It reads `.streamlit/secrets.toml`:

    [auth]
    redirect_uri = "https://labeler.lab.example/oauth2callback"
    cookie_secret = "<a long random string>"
    client_id = "..."
    client_secret = "..."
    server_metadata_url = "https://idp.lab.example/.well-known/openid-configuration"

(with several providers, `[auth.NAME]` sections and TWEET_LABELER_OIDC_PROVIDER=NAME).
"""

from __future__ import annotations

import os

import streamlit as st

from labeler.db.store import Store
from labeler.db.users import SESSION_TTL_S, Users
from labeler.team.auth import AuthMode, sign_in
from ui.common import AUTH_USER, auth_mode, settle_card, users_of

COOKIE = "tweet_labeler_session"
STATE = "auth_session"  # {"name": ..., "token": ...} of this browser tab's sign-in
OIDC_PROVIDER_ENV = "TWEET_LABELER_OIDC_PROVIDER"

# Keeps the browser's session cookie equal to the token it is given (none: removes it). Static
# code; the token is random URL-safe text made by the server.
COOKIE_JS = """
export default function ({ data }) {
  const name = data.cookie;
  const mine = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  const held = mine ? mine.slice(name.length + 1) : null;
  const secure = location.protocol === "https:" ? "; Secure" : "";
  if (data.token && held !== data.token) {
    document.cookie = `${name}=${data.token}; path=/; max-age=${data.max_age}; SameSite=Strict${secure}`;
  } else if (!data.token && held !== null) {
    document.cookie = `${name}=; path=/; max-age=0; SameSite=Strict${secure}`;
  }
}
"""
_cookie = st.components.v2.component("tweet_labeler.session_cookie", js=COOKIE_JS)


def _sync_cookie(token: str | None) -> None:
    """Mount the (invisible) cookie keeper: the browser then holds `token`, or no cookie."""
    with st.sidebar:
        _cookie(
            key="auth_cookie",
            data={"cookie": COOKIE, "token": token, "max_age": int(SESSION_TTL_S)},
            height=0,
        )


def _cookie_token() -> str | None:
    """The session token the browser sent when this tab connected (None: none)."""
    token = st.context.cookies.get(COOKIE)
    return token if isinstance(token, str) and token else None


def signed_in_user(store: Store) -> str | None:
    """Who this browser tab is signed in as (None: nobody, or sign-in is off). Checked against
    the store on every run, so a session ended elsewhere (password reset, expiry) ends here."""
    mode = auth_mode()
    if mode is AuthMode.OFF:
        return None
    if mode is AuthMode.OIDC:
        return _oidc_name()
    users = users_of(store)
    held = st.session_state.get(STATE)
    if held:
        name = users.resolve_session(held["token"])
        if name:
            return name
        st.session_state.pop(STATE, None)
    token = _cookie_token()  # after a reload: the cookie the browser sent
    name = users.resolve_session(token)
    if name:
        st.session_state[STATE] = {"name": name, "token": token}
    return name


def require_sign_in(store: Store) -> str | None:
    """The signed-in name; with sign-in on and nobody signed in, the sign-in screen and a stop.
    None when sign-in is off."""
    mode = auth_mode()
    if mode is AuthMode.OFF:
        st.session_state.pop(AUTH_USER, None)
        return None
    name = signed_in_user(store)
    if mode is AuthMode.PASSWORD:
        _sync_cookie(st.session_state[STATE]["token"] if name else None)
    if name:
        st.session_state[AUTH_USER] = name
        return name
    st.session_state.pop(AUTH_USER, None)
    st.title("🏷️ Tweet Labeler")
    if mode is AuthMode.OIDC:
        _oidc_screen()
    else:
        _password_form(users_of(store))
    st.stop()


def _password_form(users: Users) -> None:
    st.subheader("Sign in")
    with st.form("auth_form"):
        name = st.text_input("Name", key="auth_name", autocomplete="username")
        password = st.text_input(
            "Password", type="password", key="auth_password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Sign in", type="primary")
    st.caption(
        "Forgot your password? An owner resets it with `python -m labeler user passwd NAME`."
    )
    if not submitted:
        return
    token = sign_in(users, name, password)
    if token is None:
        st.error("Wrong name or password.", icon="⚠️")
        return
    st.session_state[STATE] = {"name": users.resolve_session(token), "token": token}
    st.rerun()


def sign_out(store: Store) -> None:
    """End this tab's sign-in (button callback): the store forgets the session, the next run
    clears the cookie and shows the sign-in screen. The card's last keys are stored and its
    tweets given back to the team first."""
    settle_card(store, away=True)
    held = st.session_state.pop(STATE, None)
    st.session_state.pop(AUTH_USER, None)
    if held:
        users_of(store).end_session(held["token"])
    token = _cookie_token()
    if token:  # the cookie this tab was opened with, if it is another session
        users_of(store).end_session(token)


def account(store: Store) -> None:
    """The sidebar's "Signed in as NAME" and Sign out."""
    name = st.session_state.get(AUTH_USER)
    if not name:
        return
    st.text(f"Signed in as {name}")
    if auth_mode() is AuthMode.OIDC:
        if st.button("Sign out", key="auth_sign_out"):
            st.logout()
    else:
        st.button("Sign out", key="auth_sign_out", on_click=sign_out, args=(store,))


# -- oidc ------------------------------------------------------------------------------------


def _oidc_name() -> str | None:
    try:
        if not st.user.is_logged_in:
            return None
        name = st.user.get("email") or st.user.get("preferred_username") or st.user.get("sub")
    except Exception:  # noqa: BLE001 - no [auth] configured: nobody can be signed in
        return None
    return str(name).strip() or None


def _oidc_screen() -> None:
    st.subheader("Sign in")
    st.write("Sign in with your lab account; an owner puts your e-mail address on a project.")
    if st.button("Sign in with your lab account", type="primary", key="auth_oidc"):
        try:
            st.login(os.environ.get(OIDC_PROVIDER_ENV) or None)
        except Exception:  # noqa: BLE001 - StreamlitAuthError and Authlib's ImportError
            st.error(
                "Sign-in through the identity provider is not set up on this server: it needs "
                "an [auth] section in .streamlit/secrets.toml and the Authlib package "
                "(see ui/auth.py), or TWEET_LABELER_AUTH=password.",
                icon="⚠️",
            )
