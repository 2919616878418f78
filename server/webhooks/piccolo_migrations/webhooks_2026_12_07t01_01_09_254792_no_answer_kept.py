"""Nothing of a receiver's answer is kept any more: the body excerpts go, and the errors written before (which said
how a connection failed) become the one reason `no_answer`."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T01:01:09:254792"
VERSION = "1.38.0"
DESCRIPTION = "no answer kept"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="webhooks", description=DESCRIPTION)

    async def one_reason():
        await engine_finder().run_ddl(
            "UPDATE webhook_attempt SET error = 'no_answer' WHERE error <> '' AND error <> 'target_refused'")

    manager.add_raw(one_reason)
    manager.drop_column(
        table_class_name="WebhookAttempt",
        tablename="webhook_attempt",
        column_name="response_excerpt",
        db_column_name="response_excerpt",
        schema=None,
    )

    return manager
