"""Tables of the accounts area: users, their departments and custom roles, their sessions and the audit trail of office
writes."""

from piccolo.columns import JSON, Boolean, Bytea, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class User(Table, tablename="app_user"):
    id = Serial(primary_key=True)
    username = Varchar(length=64, unique=True)
    display_name = Varchar(length=128)
    password_hash = Varchar(length=255)
    roles = JSON(default="[]")
    language = Varchar(length=8, default="en")
    active = Boolean(default=True)
    created_at = Timestamptz()
    # The department the user belongs to (a Department's code), if the factory keeps departments.
    department = Varchar(length=32, null=True, default=None, index=True)
    # The sites whose orders and stock the user sees (site codes; empty: every site): server/accounts/site_scope.py.
    sites = JSON(default="[]")


class Department(Table, tablename="department"):
    id = Serial(primary_key=True)
    code = Varchar(length=32, unique=True)
    name = Varchar(length=128)
    created_at = Timestamptz()


class CustomRole(Table, tablename="custom_role"):
    """A role an admin made from the permission list (the built-in roles are in code: server/accounts/permissions.py).
    A user's `roles` name built-in and custom roles alike; what a custom role grants is read on every request, so a
    change applies to sessions already open."""

    id = Serial(primary_key=True)
    code = Varchar(length=32, unique=True)
    name = Varchar(length=64)
    permissions = JSON(default="[]")
    created_at = Timestamptz()


class Session(Table, tablename="web_session"):
    """Server-side session data (Litestar's session store interface, kept in the database so that
    every server process sees the same sessions and a logout is immediate everywhere)."""

    id = Serial(primary_key=True)
    key = Varchar(length=128, unique=True)
    data = Bytea()
    expires_at = Timestamptz(null=True, default=None, index=True)
    # Whose session it is (None before login), so that all of a user's sessions can be ended at once.
    user_id = Integer(null=True, default=None, index=True)


class AuditEntry(Table, tablename="audit_entry"):
    """Who did what to which record, with the record before and after; written in the same transaction."""

    id = Serial(primary_key=True)
    at = Timestamptz(index=True)
    user_id = Integer(null=True, default=None)
    username = Varchar(length=64, index=True)
    action = Varchar(length=32)
    entity = Varchar(length=64, index=True, index_method=IndexMethod.btree)
    entity_key = Varchar(length=128, index=True)
    before = JSON(null=True, default=None)
    after = JSON(null=True, default=None)
    summary = Text(default="")
