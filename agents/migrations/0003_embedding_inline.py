# Keep embeddings in the row: with pgvector's default EXTERNAL storage a 512-d vector (2 KB)
# is moved to TOAST, and every distance computed for a resident's memories pays a TOAST
# fetch (measured: ~10x slower filtered search; see docs/minds.md).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("agents", "0002_minds")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE agents_memory ALTER COLUMN embedding SET STORAGE PLAIN",
            "ALTER TABLE agents_memory ALTER COLUMN embedding SET STORAGE EXTERNAL",
        )
    ]
