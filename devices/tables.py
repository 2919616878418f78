"""Devices and their one-time enrolment codes. Secrets (codes, tokens) are kept only as SHA-256 hashes."""

from piccolo.columns import JSON, BigInt, Boolean, Integer, Serial, Timestamptz, Varchar
from piccolo.table import Table


class Enrolment(Table, tablename="device_enrolment"):
    id = Serial(primary_key=True)
    code_hash = Varchar(length=64, unique=True)
    scope = JSON()
    created_by = Varchar(length=64)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    device_id = Varchar(length=36, null=True, default=None)


class Device(Table, tablename="device"):
    id = Serial(primary_key=True)
    device_id = Varchar(length=36, unique=True)
    name = Varchar(length=200)
    platform = Varchar(length=100, default="")
    app_version = Varchar(length=40, default="")
    token_hash = Varchar(length=64, unique=True)
    scope = JSON()
    enrolled_by = Varchar(length=64)
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    # Exactly-once bookkeeping: the highest seq whose outcome is committed. Changes only with a mutation's log row.
    last_seq = BigInt(default=0)
    # Set when the scope changes: the next pull answers `reset` so the device re-snapshots its new scope.
    reset_required = Boolean(default=False)
    last_seen_at = Timestamptz(null=True, default=None)
    last_pull_cursor = BigInt(default=0)
    pending_reported = Integer(default=0)
    clock_offset_ms = Integer(default=0)
