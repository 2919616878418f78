"""Device enrolment, tokens and scopes. Built in the sync issue."""
