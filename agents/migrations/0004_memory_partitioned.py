# Hash-partition the memory stream by resident (agent_id) into 16 partitions, each with its
# own HNSW graph (docs/minds.md, Retrieval; measurements in docs/performance.md, Minds).
#
# A filtered search on one global HNSW graph (one resident in 25) topped out at recall@10
# ≈ 0.85 whatever ef_search; on a partition's own graph the same search reaches ≥ 0.95.
# Hash partitioning needs no DDL when residents are added at run time.
#
# PostgreSQL requires the partition key in every unique constraint, so the primary key is
# (id, agent_id) in the database (id stays unique: it comes from the identity sequence and
# Django keeps treating it as the primary key), and nothing can reference agents_memory(id)
# with a foreign key: the evidence links lose their database constraints (db_constraint=False;
# Django's deletion collector still removes the links with their memories).

from django.db import migrations, models

PARTITIONS = 16


def rebuild(schema_editor, partitioned: bool) -> None:
    """Rebuild agents_memory (plain ↔ hash-partitioned), keeping rows, indexes, constraints."""

    def run(sql: str) -> None:
        schema_editor.execute(sql, params=None)  # None: no %-interpolation (format('%I'))

    run("ALTER TABLE agents_memory RENAME TO agents_memory_old")
    # Remember the indexes and the check/foreign-key constraints, then free their names.
    run(
        "CREATE TEMP TABLE agents_memory_defs ON COMMIT DROP AS "
        "SELECT 'index' AS what, c.relname AS name, pg_get_indexdef(i.indexrelid) AS def "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = 'agents_memory_old'::regclass AND NOT i.indisprimary "
        "UNION ALL SELECT 'constraint', conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'agents_memory_old'::regclass AND contype IN ('c', 'f')"
    )
    run(
        """
        DO $$ DECLARE r record; BEGIN
          FOR r IN SELECT * FROM agents_memory_defs LOOP
            IF r.what = 'index' THEN EXECUTE format('DROP INDEX %I', r.name);
            ELSE EXECUTE format('ALTER TABLE agents_memory_old DROP CONSTRAINT %I', r.name);
            END IF;
          END LOOP;
        END $$
        """
    )
    run(
        "CREATE TABLE agents_memory (LIKE agents_memory_old INCLUDING DEFAULTS "
        "INCLUDING IDENTITY INCLUDING STORAGE)"
        + (" PARTITION BY HASH (agent_id)" if partitioned else "")
    )
    if partitioned:
        for i in range(PARTITIONS):
            run(
                f"CREATE TABLE agents_memory_p{i} PARTITION OF agents_memory "
                f"FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {i})"
            )
    run("INSERT INTO agents_memory SELECT * FROM agents_memory_old")
    run(
        "SELECT setval(pg_get_serial_sequence('agents_memory', 'id'), "
        "COALESCE((SELECT max(id) FROM agents_memory), 0) + 1, false)"
    )
    run("DROP TABLE agents_memory_old")  # no CASCADE: fail loudly if anything still refers to it
    run(
        "ALTER TABLE agents_memory ADD CONSTRAINT agents_memory_pkey PRIMARY KEY "
        + ("(id, agent_id)" if partitioned else "(id)")
    )
    run(
        """
        DO $$ DECLARE r record; BEGIN
          FOR r IN SELECT * FROM agents_memory_defs LOOP
            IF r.what = 'index' THEN
              EXECUTE regexp_replace(r.def, ' ON (ONLY )?(\\S+\\.)?agents_memory_old ',
                                     ' ON agents_memory ');
            ELSE
              EXECUTE format('ALTER TABLE agents_memory ADD CONSTRAINT %I %s', r.name, r.def);
            END IF;
          END LOOP;
        END $$
        """
    )
    run("ANALYZE agents_memory")


def forwards(apps, schema_editor):
    rebuild(schema_editor, partitioned=True)


def backwards(apps, schema_editor):
    rebuild(schema_editor, partitioned=False)


class Migration(migrations.Migration):
    dependencies = [("agents", "0003_embedding_inline")]

    operations = [
        migrations.AlterField(
            model_name="memory",
            name="evidence",
            field=models.ManyToManyField(blank=True, db_constraint=False, to="agents.memory"),
        ),
        migrations.RunPython(forwards, backwards),
    ]
