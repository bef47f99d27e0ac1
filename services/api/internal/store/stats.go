package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Stats are the store's figures for metrics.
type Stats struct {
	// Messages counts messages by direction and state.
	Messages map[Direction]map[State]int
	// OutboxDepth is the outbound messages queued or sending.
	OutboxDepth int
	// OldestQueuedAge is how long the oldest queued message has waited
	// since it was accepted (or since its sendAt, if later); 0 if none.
	OldestQueuedAge time.Duration
	// ReassemblyPending is the concatenated messages waiting for parts.
	ReassemblyPending int
	// Incomplete is the inbound messages delivered with missing parts.
	Incomplete int
	// ReportsMatched and ReportsUnmatched count the stored status reports.
	ReportsMatched, ReportsUnmatched int
}

// Stats reads the figures; cheap enough for every Prometheus scrape (one
// grouped count over indexed columns).
func (s *Store) Stats(ctx context.Context) (*Stats, error) {
	st := &Stats{Messages: map[Direction]map[State]int{Out: {}, In: {}}}
	now := s.nowMs()
	rows, err := s.r.QueryContext(ctx, `SELECT direction, state, count(*) FROM messages GROUP BY direction, state`)
	if err != nil {
		return nil, fmt.Errorf("store: stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var d Direction
		var state State
		var n int
		if err := rows.Scan(&d, &state, &n); err != nil {
			return nil, fmt.Errorf("store: stats: %w", err)
		}
		if st.Messages[d] == nil {
			st.Messages[d] = map[State]int{}
		}
		st.Messages[d][state] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: stats: %w", err)
	}
	st.OutboxDepth = st.Messages[Out][StateQueued] + st.Messages[Out][StateSending]
	st.Incomplete = st.Messages[In][StateIncomplete]
	var oldest sql.NullInt64
	greatest := "max" // SQLite's max of several arguments is PostgreSQL's greatest
	if s.Postgres() {
		greatest = "greatest"
	}
	if err := s.r.QueryRowContext(ctx, `SELECT min(`+greatest+`(created_at, send_at)) FROM messages
		WHERE direction = 'out' AND state = 'queued' AND send_at <= ?`, now).Scan(&oldest); err != nil {
		return nil, fmt.Errorf("store: stats: oldest queued: %w", err)
	}
	if oldest.Valid && oldest.Int64 < now {
		st.OldestQueuedAge = time.Duration(now-oldest.Int64) * time.Millisecond
	}
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM in_groups WHERE closed_at IS NULL`).Scan(&st.ReassemblyPending); err != nil {
		return nil, fmt.Errorf("store: stats: reassembly: %w", err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT CAST(coalesce(sum(matched), 0) AS BIGINT), CAST(count(*) - coalesce(sum(matched), 0) AS BIGINT) FROM reports`).
		Scan(&st.ReportsMatched, &st.ReportsUnmatched); err != nil {
		return nil, fmt.Errorf("store: stats: reports: %w", err)
	}
	return st, nil
}
