-- Schema version 6 (PostgreSQL): several modems behind one api (see the
-- SQLite file).
ALTER TABLE modems ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN route TEXT NOT NULL DEFAULT '';
