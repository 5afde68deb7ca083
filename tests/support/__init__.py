"""Test helpers, in one home: forms (reporter forms, CSRF), officers (accounts, logins),
cases (reports filed through intake, officer actions), audit (sample entries), postgres (the
throw-away cluster), server (a real running server), dump (database dumps)."""
