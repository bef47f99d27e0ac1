package store

import (
	"context"
	"fmt"
)

// ModemCopy is an outbound part that has, or may have, a copy in a
// modem's message memory: one with a storage index (written by AT+CMGW,
// not yet deleted by AT+CMGD), or one that is writing (AT+CMGW may have
// stored it at an index not yet known).
type ModemCopy struct {
	MessageID    string
	MessageState State
	Seq          int
	State        PartState
	PDUHex       string
	StorageIndex int // -1 while writing
}

// ModemCopies lists the parts of the modem's messages that have or may
// have a copy in its memory, in message and part order. The outbox worker
// reconciles the modem's memory against it after a (re)connect: copies it
// knows are resolved by their part's state, a writing part is matched by
// content, every other stored outbound copy is deleted unsent.
func (s *Store) ModemCopies(ctx context.Context, modemID int64) ([]ModemCopy, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT m.uid, m.state, p.seq, p.state, p.pdu_hex, coalesce(p.storage_index, -1)
		FROM parts p JOIN messages m ON m.id = p.message_id
		WHERE m.modem_id = ? AND (p.storage_index IS NOT NULL OR p.state = 'writing')
		ORDER BY m.id, p.seq`, modemID)
	if err != nil {
		return nil, fmt.Errorf("store: modem copies: %w", err)
	}
	defer rows.Close()
	var out []ModemCopy
	for rows.Next() {
		var c ModemCopy
		if err := rows.Scan(&c.MessageID, &c.MessageState, &c.Seq, &c.State, &c.PDUHex, &c.StorageIndex); err != nil {
			return nil, fmt.Errorf("store: modem copies: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: modem copies: %w", err)
	}
	return out, nil
}
