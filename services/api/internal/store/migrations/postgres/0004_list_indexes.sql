-- Schema version 4 (PostgreSQL, as SQLite): indexes that let List walk a state's or a peer's
-- messages in row order instead of sorting them (measured by
-- BenchmarkList100k: a state filter on 100,000 messages took 35 ms).
CREATE INDEX messages_state ON messages (state, id);
CREATE INDEX messages_peer ON messages (peer, id);
-- Stats counts by direction and state from this index alone (a covering
-- scan, not the table: 66 ms before, 21 ms after, BenchmarkStats100k).
CREATE INDEX messages_direction_state ON messages (direction, state);
