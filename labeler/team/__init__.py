"""The coding team: sign-in, roster, agreement between coders, gold labels."""
