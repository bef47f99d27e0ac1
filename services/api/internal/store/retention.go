package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// RetentionResult counts what Retention deleted.
type RetentionResult struct {
	Messages int // messages (with their parts, history and inbound parts)
	Reports  int // status reports
	Groups   int // closed reassembly groups
	Events   int // events of the log (none an active webhook has yet to receive)
	Dead     int // records of events a webhook gave up on
}

// retentionBatch bounds one delete transaction, so the writer is never
// held long and sending goes on while a large backlog is deleted.
const retentionBatch = 500

// Retention deletes what finished before now-olderThan: messages in a
// final state (never queued or sending ones, however old), status
// reports, closed reassembly groups, and events (but none that an active
// webhook has yet to receive) with the records of events webhooks gave up
// on. DefaultRetention is 90 days.
func (s *Store) Retention(ctx context.Context, olderThan time.Duration) (RetentionResult, error) {
	var res RetentionResult
	if olderThan <= 0 {
		return res, fmt.Errorf("store: retention: %w horizon %v", ErrInvalid, olderThan)
	}
	horizon := s.nowMs() - olderThan.Milliseconds()
	for _, step := range []struct {
		what  string
		query string
		n     *int
	}{
		{"messages", `DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE finished_at IS NOT NULL AND finished_at < ?
			AND state NOT IN ('queued', 'sending') LIMIT ?)`, &res.Messages},
		{"reports", `DELETE FROM reports WHERE id IN (SELECT id FROM reports WHERE received_at < ? LIMIT ?)`, &res.Reports},
		{"groups", `DELETE FROM in_groups WHERE id IN (SELECT id FROM in_groups WHERE closed_at IS NOT NULL AND closed_at < ? LIMIT ?)`, &res.Groups},
		{"events", `DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE at < ?
			AND seq <= (SELECT coalesce(min(cursor), 9223372036854775807) FROM webhooks WHERE state = 'active') ORDER BY seq LIMIT ?)`, &res.Events},
		{"dead webhook events", `DELETE FROM webhook_dead WHERE (webhook_id, event_seq) IN (SELECT webhook_id, event_seq FROM webhook_dead WHERE at < ? LIMIT ?)`, &res.Dead},
	} {
		for {
			var n int64
			err := s.write(ctx, "retention: "+step.what, func(tx *sql.Tx) error {
				r, err := tx.ExecContext(ctx, step.query, horizon, retentionBatch)
				if err != nil {
					return err
				}
				n, err = r.RowsAffected()
				return err
			})
			if err != nil {
				return res, err
			}
			*step.n += int(n)
			if n < retentionBatch {
				break
			}
		}
	}
	return res, nil
}
