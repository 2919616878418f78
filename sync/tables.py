"""The change feed devices pull from, its position counter, and the log of every mutation's outcome."""

from piccolo.columns import JSON, BigInt, Serial, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class FeedCounter(Table, tablename="feed_counter"):
    """One row. Writers take it (UPDATE … RETURNING) as the last step before commit, so feed positions are
    handed out in commit order: a reader that sees position P committed can never later find a P' < P appear."""

    id = Serial(primary_key=True)
    position = BigInt(default=0)
    # Deletes at or below this position may have been compacted away: a cursor older than it must re-snapshot.
    compacted_through = BigInt(default=0)


class FeedChange(Table, tablename="feed_change"):
    id = Serial(primary_key=True)
    position = BigInt(unique=True)
    entity = Varchar(length=40)
    entity_key = Varchar(length=200)
    op = Varchar(length=8)
    data = JSON(null=True, default=None)
    # Who may see it: NULL means "anyone" for that dimension (DESIGN.md: membership decided in the writing txn).
    site = Varchar(length=40, null=True, default=None)
    warehouse = Varchar(length=40, null=True, default=None)
    work_centre = Varchar(length=40, null=True, default=None)
    route = Varchar(length=40, null=True, default=None)
    device_id = Varchar(length=36, null=True, default=None)
    # entity + key + scope: the identity compaction keeps the newest row of.
    scope_key = Varchar(length=400, index=True, index_method=IndexMethod.btree)
    at = Timestamptz()


class MutationLog(Table, tablename="mutation_log"):
    """Every mutation a device sent, with its outcome: the proof of exactly-once and the answer to a retry."""

    id = Serial(primary_key=True)
    device_id = Varchar(length=36, index=True)
    seq = BigInt()
    mutation_id = Varchar(length=36, unique=True)
    name = Varchar(length=64)
    args = JSON()
    client_time = Timestamptz(null=True, default=None)
    received_at = Timestamptz()
    status = Varchar(length=10)
    error = JSON(null=True, default=None)
    effect = JSON(null=True, default=None)
