package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// ModemNameRule says what a configured modem id may be (ValidModemName).
const ModemNameRule = "1 to 32 characters: lower-case letters, digits, '-' and '_', starting with a letter or digit"

// ValidModemName reports whether s is a valid configured modem id: it
// appears in URLs (/v1/modems/{id}), metric labels and MQTT topics.
func ValidModemName(s string) bool {
	if s == "" || len(s) > 32 || s[0] == '-' || s[0] == '_' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// routeMatch is the SQL condition that a message's route admits the modem
// whose configured id is the next argument.
func (s *Store) routeMatch() string {
	if s.Postgres() {
		return `(route = '' OR strpos(route, ',' || ? || ',') > 0)`
	}
	return `(route = '' OR instr(route, ',' || ? || ',') > 0)`
}

// claimLock is what a claim's SELECT ends with: PostgreSQL locks the row
// it claims, and skips a row another instance's claim holds.
func (s *Store) claimLock() string {
	if s.Postgres() {
		return ` FOR UPDATE SKIP LOCKED`
	}
	return ``
}

// encodeRoute stores a route as ",a,b," ("" for any modem), so that
// routeMatch finds a whole id.
func encodeRoute(ids []string) string {
	if len(ids) == 0 {
		return ""
	}
	return "," + strings.Join(ids, ",") + ","
}

func decodeRoute(s string) []string {
	s = strings.Trim(s, ",")
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// releasable: the part states from which a message may return to the
// queue and go out on another modem. A part that reached writing or
// written left at most an unsent copy (STO UNSENT) in the modem's memory,
// which that modem's next reconciliation deletes as unknown; one that
// reached submitting may have gone out and never moves.
var releasable = map[PartState]bool{PartQueued: true, PartWriting: true, PartWritten: true}

// Release returns the messages in flight of the configured modem name
// (sending, bound to a SIM that modem entry saw last) to the queue when none of their parts may have reached the
// network: their parts become queued again (their copies in this modem's
// memory forgotten), the message unbound and queued, with reason as the
// recorded detail. The outbox worker calls it when its modem cannot send
// (the relay session is lost, or the modem is not registered), so that
// another modem of the message's route sends it. It returns the ids of
// the released messages.
func (s *Store) Release(ctx context.Context, name, reason string) ([]string, error) {
	var released []string
	err := s.write(ctx, "release", func(tx *sql.Tx) error {
		released = released[:0]
		rows, err := tx.QueryContext(ctx, `SELECT m.id, m.uid, p.seq, p.state FROM messages m JOIN parts p ON p.message_id = m.id
			WHERE m.direction = 'out' AND m.state = 'sending' AND m.modem_id IN (SELECT id FROM modems WHERE name = ?)
			ORDER BY m.id, p.seq`, name)
		if err != nil {
			return err
		}
		type part struct {
			seq   int
			state PartState
		}
		type msg struct {
			uid   string
			parts []part
		}
		var order []int64
		msgs := map[int64]*msg{}
		for rows.Next() {
			var row int64
			var uid string
			var p part
			if err := rows.Scan(&row, &uid, &p.seq, &p.state); err != nil {
				rows.Close()
				return err
			}
			if msgs[row] == nil {
				msgs[row] = &msg{uid: uid}
				order = append(order, row)
			}
			msgs[row].parts = append(msgs[row].parts, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		now := s.nowMs()
	next:
		for _, row := range order {
			m := msgs[row]
			for _, p := range m.parts {
				if !releasable[p.state] {
					continue next
				}
			}
			for _, p := range m.parts {
				if p.state == PartQueued {
					continue
				}
				if _, err := tx.ExecContext(ctx, `UPDATE parts SET state = 'queued', storage_index = NULL, updated_at = ?
					WHERE message_id = ? AND seq = ?`, now, row, p.seq); err != nil {
					return fmt.Errorf("message %s part %d: %w", m.uid, p.seq, err)
				}
				if err := recordTransition(ctx, tx, row, p.seq, string(PartQueued), reason, now); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE messages SET modem_id = NULL WHERE id = ?`, row); err != nil {
				return fmt.Errorf("message %s: %w", m.uid, err)
			}
			if err := setMessageState(ctx, tx, row, StateSending, StateQueued, reason, now); err != nil {
				return fmt.Errorf("message %s: %w", m.uid, err)
			}
			released = append(released, m.uid)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: release the messages of modem %q: %w", name, err)
	}
	return released, nil
}

// ModemDepth is the outbox depth of one configured modem: the messages
// bound to it and not yet final, and the queued ones only its route admits.
func (s *Store) ModemDepth(ctx context.Context, name string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM messages m WHERE m.direction = 'out' AND m.state IN ('queued', 'sending')
		AND (m.modem_id IN (SELECT id FROM modems WHERE name = ?) OR (m.modem_id IS NULL AND m.route = ',' || ? || ','))`,
		name, name).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: outbox depth of modem %q: %w", name, err)
	}
	return n, nil
}
