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
}

// retentionBatch bounds one delete transaction, so the writer is never
// held long and sending goes on while a large backlog is deleted.
const retentionBatch = 500

// Retention deletes what finished before now-olderThan: messages in a
// final state (never queued or sending ones, however old), status
// reports, and closed reassembly groups. DefaultRetention is 90 days.
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
