import init from './001_init.sql';
import outputBytes from './002_output_bytes.sql';
import queueColumns from './003_queue_columns.sql';
import access from './004_access.sql';
import slots from './005_slots.sql';

/**
 * The PostgreSQL schema, as numbered migrations (one .sql file each, its
 * header saying what it does; the build bundles their text). A database is
 * at version N when migrations 1..N have been applied, each in its own
 * transaction, under an advisory lock so that two `conductor migrate`
 * cannot interleave. Append new migrations; never edit one that has shipped.
 */
export const MIGRATIONS: readonly string[] = [init, outputBytes, queueColumns, access, slots];

export const SCHEMA_VERSION = MIGRATIONS.length;
