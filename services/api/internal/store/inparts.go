package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// ReceivedPart is a stored part of an inbound message, as read from the
// modem (raw PDU kept).
type ReceivedPart struct {
	Seq        int          // the part number, 0 for a single message
	Alphabet   pdu.Alphabet // of its user data
	Storage    string       // where the modem held it: SM, ME, MT
	Index      int          // its index there
	PDUHex     string       // SMSC address, then the SMS-DELIVER
	ReceivedAt time.Time    // when it was committed
}

// ReceivedParts returns the stored parts of the inbound messages with
// these ids, by id, in part order (a duplicate after the part it repeats).
// Ids of other or unknown messages are left out.
func (s *Store) ReceivedParts(ctx context.Context, ids ...string) (map[string][]ReceivedPart, error) {
	out := map[string][]ReceivedPart{}
	if len(ids) == 0 {
		return out, nil
	}
	if len(ids) > MaxLimit {
		return nil, fmt.Errorf("store: received parts: %w: %d ids, at most %d", ErrInvalid, len(ids), MaxLimit)
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	rows, err := s.r.QueryContext(ctx, `SELECT m.uid, p.seq, p.alphabet, p.storage, p.idx, p.pdu_hex, p.received_at
		FROM messages m JOIN in_parts p ON p.message_id = m.id
		WHERE m.direction = 'in' AND m.uid IN (?`+strings.Repeat(", ?", len(ids)-1)+`)
		ORDER BY m.id, p.seq, p.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: received parts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var p ReceivedPart
		var alpha int
		var at int64
		if err := rows.Scan(&id, &p.Seq, &alpha, &p.Storage, &p.Index, &p.PDUHex, &at); err != nil {
			return nil, fmt.Errorf("store: received parts: %w", err)
		}
		p.Alphabet, p.ReceivedAt = pdu.Alphabet(alpha), msTime(at)
		out[id] = append(out[id], p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: received parts: %w", err)
	}
	return out, nil
}
