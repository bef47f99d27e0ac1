package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
)

// InboundPart is one received SMS-DELIVER as the inbox sweep reads it
// from the modem's storage (AT+CMGL in PDU mode).
type InboundPart struct {
	ModemID int64
	Storage string // the storage it was read from: SM, ME or MT
	Index   int    // its index there
	PDUHex  string // the PDU as shown: SMSC address, then the SMS-DELIVER
}

// SaveResult is what SavePart did.
type SaveResult struct {
	// New is false when the part was already stored (read again after a
	// crash between its commit and AT+CMGD): nothing changed. The sweep
	// deletes the modem's copy in both cases.
	New bool
	// Message is the message this part completed (every part there, or a
	// single-part message, or an undecodable PDU kept raw); nil while a
	// concatenated message waits for more parts.
	Message *Message
}

// SavePart commits a received part. Call it before deleting the part from
// the modem. A PDU that does not decode as an SMS-DELIVER is still stored,
// as an undecodable message with the error as its reason, so that nothing
// received is lost and the modem's copy can be deleted.
func (s *Store) SavePart(ctx context.Context, p InboundPart) (SaveResult, error) {
	var res SaveResult
	p.PDUHex = strings.ToUpper(p.PDUHex)
	if p.ModemID == 0 || p.Index < 0 || !validStorage(p.Storage) {
		return res, fmt.Errorf("store: save part: %w part %+v: a modem, a storage (SM, ME, MT) and an index are required", ErrInvalid, p)
	}
	var row int64
	err := s.write(ctx, fmt.Sprintf("save part %s/%d", p.Storage, p.Index), func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM in_parts WHERE modem_id = ? AND storage = ? AND idx = ? AND pdu_hex = ?`,
			p.ModemID, p.Storage, p.Index, p.PDUHex).Scan(&id)
		if err == nil {
			return nil // already stored
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		res.New = true
		now := s.nowMs()
		d, err := decodePart(p.PDUHex)
		if err != nil {
			row, err = insertUndecodable(ctx, tx, p, err, now)
			return err
		}
		if !d.concat {
			row, err = insertInbound(ctx, tx, p.ModemID, []decodedPart{d}, StateReceived, nil, now)
			if err != nil {
				return err
			}
			return insertInPart(ctx, tx, p, d, sql.NullInt64{}, row, now)
		}
		group, done, closed, err := findGroup(ctx, tx, p, d, now)
		if err != nil {
			return err
		}
		if closed {
			// The network repeated a part of a message already complete:
			// kept raw with it, no new message.
			return insertInPart(ctx, tx, p, d, sql.NullInt64{Int64: group, Valid: true}, done, now)
		}
		if err := insertInPart(ctx, tx, p, d, sql.NullInt64{Int64: group, Valid: true}, 0, now); err != nil {
			return err
		}
		parts, err := groupParts(ctx, tx, group)
		if err != nil {
			return err
		}
		if len(parts) < d.c.Total {
			return nil
		}
		row, err = closeGroup(ctx, tx, group, p.ModemID, parts, nil, StateReceived, now)
		return err
	})
	if err != nil {
		return SaveResult{}, err
	}
	if row != 0 {
		if res.Message, err = getMessageByRow(ctx, s.r, row); err != nil {
			return SaveResult{}, fmt.Errorf("store: save part: reading back: %w", err)
		}
	}
	return res, nil
}

func validStorage(s string) bool { return s == "SM" || s == "ME" || s == "MT" || s == "SR" }

// decodedPart is what the store keeps of a decoded SMS-DELIVER.
type decodedPart struct {
	smsc     string
	d        *pdu.Deliver
	c        pdu.Concat
	concat   bool
	alphabet pdu.Alphabet
	text     string
	body     []byte // 8-bit data, or the UCS-2 user data (UTF-16BE)
}

// decodePart decodes a PDU as +CMGL shows it. For UCS-2 it also keeps the
// raw UTF-16 of the user data, so that a surrogate pair split across two
// parts is joined correctly.
func decodePart(pduHex string) (decodedPart, error) {
	b, err := hex.DecodeString(pduHex)
	if err != nil {
		return decodedPart{}, fmt.Errorf("not hex: %w", err)
	}
	smsc, tpdu, err := pdu.SplitSMSC(b)
	if err != nil {
		return decodedPart{}, err
	}
	d, err := pdu.DecodeDeliver(tpdu)
	if err != nil {
		return decodedPart{}, err
	}
	out := decodedPart{smsc: smsc.Number, d: d, alphabet: d.DCS.Alphabet()}
	out.c, out.concat = d.UD.Concat()
	switch out.alphabet {
	case pdu.Alphabet8Bit:
		out.body = d.UD.Data
	case pdu.AlphabetUCS2:
		// The decoder turned the UTF-16 units into text, one U+FFFD per
		// unpaired surrogate; the units are the last octets of the TPDU.
		n := 2 * len(utf16.Encode([]rune(d.UD.Text)))
		if n > len(tpdu) { // cannot happen for a decoded TPDU; keep the text as decoded
			out.alphabet, out.text = pdu.AlphabetGSM7, d.UD.Text
			break
		}
		out.body = tpdu[len(tpdu)-n:]
	default:
		out.text = d.UD.Text
	}
	return out, nil
}

func insertInPart(ctx context.Context, tx *sql.Tx, p InboundPart, d decodedPart, group sql.NullInt64, msgRow int64, now int64) error {
	seq := 0
	if d.concat {
		seq = d.c.Seq
	}
	var msg any
	if msgRow != 0 {
		msg = msgRow
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO in_parts (modem_id, storage, idx, pdu_hex, group_id, message_id, seq, alphabet, text, body_hex, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ModemID, p.Storage, p.Index, p.PDUHex, group, msg, seq, int(d.alphabet), d.text, hex.EncodeToString(d.body), now)
	if err != nil {
		return fmt.Errorf("inserting the part: %w", err)
	}
	return nil
}

// closedDuplicate finds the closed group (and its message) that already
// holds this very part: the same sender, reference and count, the same
// part number and the same PDU bytes (so the same service-centre time
// stamp). That is the network repeating a part after the message was
// complete; a sender that reuses the reference sends other bytes (at
// least another time stamp) and opens a new group.
func closedDuplicate(ctx context.Context, tx *sql.Tx, p InboundPart, d decodedPart) (group, msg int64, err error) {
	var m sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT g.id, g.message_id FROM in_groups g JOIN in_parts q ON q.group_id = g.id
		WHERE g.modem_id = ? AND g.sender = ? AND g.ref = ? AND g.ref16 = ? AND g.total = ? AND g.closed_at IS NOT NULL
		AND q.seq = ? AND q.pdu_hex = ? ORDER BY g.id DESC LIMIT 1`,
		p.ModemID, d.d.Originator.Number, d.c.Ref, d.c.Ref16, d.c.Total, d.c.Seq, p.PDUHex).Scan(&group, &m)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("finding a completed message with this part: %w", err)
	}
	return group, m.Int64, nil
}

// findGroup returns the group this part belongs to: the oldest open
// group with its key whose place for this part number is free, or that
// holds the same content there (a duplicate). Failing that, a closed group
// that holds this very part (closedDuplicate), with its message as done.
// A part whose number is taken by other content in every open group (the
// sender reused the reference) starts a new group.
func findGroup(ctx context.Context, tx *sql.Tx, p InboundPart, d decodedPart, now int64) (group, done int64, closed bool, err error) {
	modemID := p.ModemID
	rows, err := tx.QueryContext(ctx, `SELECT g.id, p.text, p.body_hex FROM in_groups g
		LEFT JOIN in_parts p ON p.group_id = g.id AND p.seq = ?
		WHERE g.modem_id = ? AND g.sender = ? AND g.ref = ? AND g.ref16 = ? AND g.total = ? AND g.closed_at IS NULL
		ORDER BY g.id`, d.c.Seq, modemID, d.d.Originator.Number, d.c.Ref, d.c.Ref16, d.c.Total)
	if err != nil {
		return 0, 0, false, fmt.Errorf("finding the part's group: %w", err)
	}
	defer rows.Close()
	body := hex.EncodeToString(d.body)
	found := int64(0)
	for rows.Next() {
		var id int64
		var text, bodyHex sql.NullString
		if err := rows.Scan(&id, &text, &bodyHex); err != nil {
			return 0, 0, false, fmt.Errorf("finding the part's group: %w", err)
		}
		if !text.Valid || (text.String == d.text && bodyHex.String == body) {
			found = id
			break
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, false, fmt.Errorf("finding the part's group: %w", err)
	}
	rows.Close()
	if found != 0 {
		return found, 0, false, nil
	}
	if g, msg, err := closedDuplicate(ctx, tx, p, d); err != nil || g != 0 {
		return g, msg, g != 0, err
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO in_groups (modem_id, sender, ref, ref16, total, first_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		modemID, d.d.Originator.Number, d.c.Ref, d.c.Ref16, d.c.Total, now).Scan(&found)
	if err != nil {
		return 0, 0, false, fmt.Errorf("opening a group: %w", err)
	}
	return found, 0, false, nil
}

// groupParts decodes the group's parts again from their raw PDUs, one per
// part number (the first stored, if a duplicate came), in order.
func groupParts(ctx context.Context, tx *sql.Tx, group int64) ([]decodedPart, error) {
	rows, err := tx.QueryContext(ctx, `SELECT pdu_hex FROM in_parts WHERE group_id = ? ORDER BY seq, id`, group)
	if err != nil {
		return nil, fmt.Errorf("reading the group's parts: %w", err)
	}
	defer rows.Close()
	var out []decodedPart
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("reading the group's parts: %w", err)
		}
		d, err := decodePart(h)
		if err != nil {
			return nil, fmt.Errorf("decoding a stored part: %w", err)
		}
		if len(out) > 0 && out[len(out)-1].c.Seq == d.c.Seq {
			continue // a duplicate
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// closeGroup turns the group's parts into a message and closes the group.
func closeGroup(ctx context.Context, tx *sql.Tx, group, modemID int64, parts []decodedPart, missing []int, state State, now int64) (int64, error) {
	row, err := insertInbound(ctx, tx, modemID, parts, state, missing, now)
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE in_groups SET closed_at = ?, message_id = ? WHERE id = ?`, now, row, group); err != nil {
		return 0, fmt.Errorf("closing the group: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE in_parts SET message_id = ? WHERE group_id = ?`, row, group); err != nil {
		return 0, fmt.Errorf("linking the parts: %w", err)
	}
	return row, nil
}

// insertInbound stores a received message made of parts (in order).
func insertInbound(ctx context.Context, tx *sql.Tx, modemID int64, parts []decodedPart, state State, missing []int, now int64) (int64, error) {
	first := parts[0]
	text, data := joinParts(parts)
	class, hasClass := first.d.DCS.Class()
	total := len(parts) + len(missing)
	reason := ""
	var ms []string
	for _, n := range missing {
		ms = append(ms, strconv.Itoa(n))
	}
	if len(missing) > 0 {
		reason = fmt.Sprintf("parts %s of %d never arrived", strings.Join(ms, ", "), total)
	}
	_, zone := first.d.Timestamp.Zone()
	var row int64
	err := tx.QueryRowContext(ctx, `INSERT INTO messages (uid, direction, modem_id, peer, text, data_hex, flash, state, reason, part_count,
		created_at, updated_at, finished_at, smsc, sc_time, sc_zone, missing)
		VALUES (?, 'in', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		newID(), modemID, first.d.Originator.Number, text, data, hasClass && class == 0, state, reason, total, now, now, now,
		first.smsc, timeMs(first.d.Timestamp), zone, strings.Join(ms, ",")).Scan(&row)
	if err != nil {
		return 0, fmt.Errorf("inserting the received message: %w", err)
	}
	return row, recordTransition(ctx, tx, row, 0, string(state), reason, now)
}

// joinParts joins the parts' contents: text (UCS-2 runs joined as UTF-16
// before decoding) and 8-bit data as hex.
func joinParts(parts []decodedPart) (text, dataHex string) {
	var sb strings.Builder
	var units []byte
	var data []byte
	flush := func() {
		u := make([]uint16, len(units)/2)
		for i := range u {
			u[i] = uint16(units[2*i])<<8 | uint16(units[2*i+1])
		}
		sb.WriteString(string(utf16.Decode(u)))
		units = units[:0]
	}
	for _, p := range parts {
		switch p.alphabet {
		case pdu.AlphabetUCS2:
			units = append(units, p.body...)
		case pdu.Alphabet8Bit:
			data = append(data, p.body...)
		default:
			flush()
			sb.WriteString(p.text)
		}
	}
	flush()
	return sb.String(), strings.ToUpper(hex.EncodeToString(data))
}

func insertUndecodable(ctx context.Context, tx *sql.Tx, p InboundPart, decodeErr error, now int64) (int64, error) {
	var row int64
	reason := "undecodable PDU: " + decodeErr.Error()
	err := tx.QueryRowContext(ctx, `INSERT INTO messages (uid, direction, modem_id, peer, state, reason, part_count, created_at, updated_at, finished_at)
		VALUES (?, 'in', ?, '', ?, ?, 1, ?, ?, ?) RETURNING id`, newID(), p.ModemID, StateUndecodable, reason, now, now, now).Scan(&row)
	if err != nil {
		return 0, fmt.Errorf("inserting the undecodable message: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO in_parts (modem_id, storage, idx, pdu_hex, message_id, seq, alphabet, text, body_hex, received_at)
		VALUES (?, ?, ?, ?, ?, 0, 0, '', '', ?)`, p.ModemID, p.Storage, p.Index, p.PDUHex, row, now); err != nil {
		return 0, fmt.Errorf("inserting the undecodable part: %w", err)
	}
	return row, recordTransition(ctx, tx, row, 0, string(StateUndecodable), reason, now)
}

// ExpireIncomplete delivers every concatenated message whose first part
// was stored more than Options.IncompleteAfter ago and that still misses
// parts, as an incomplete message listing the missing part numbers. The
// parts that arrived are all in it; none is dropped. It returns the
// messages it made.
func (s *Store) ExpireIncomplete(ctx context.Context) ([]*Message, error) {
	var made []int64
	err := s.write(ctx, "expire incomplete", func(tx *sql.Tx) error {
		now := s.nowMs()
		rows, err := tx.QueryContext(ctx, `SELECT id, modem_id, total FROM in_groups WHERE closed_at IS NULL AND first_at <= ? ORDER BY id`,
			now-s.opts.IncompleteAfter.Milliseconds())
		if err != nil {
			return err
		}
		type group struct {
			id, modem int64
			total     int
		}
		var groups []group
		for rows.Next() {
			var g group
			if err := rows.Scan(&g.id, &g.modem, &g.total); err != nil {
				rows.Close()
				return err
			}
			groups = append(groups, g)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, g := range groups {
			parts, err := groupParts(ctx, tx, g.id)
			if err != nil {
				return err
			}
			var missing []int
			for n := 1; n <= g.total; n++ {
				if !slices.ContainsFunc(parts, func(p decodedPart) bool { return p.c.Seq == n }) {
					missing = append(missing, n)
				}
			}
			row, err := closeGroup(ctx, tx, g.id, g.modem, parts, missing, StateIncomplete, now)
			if err != nil {
				return err
			}
			made = append(made, row)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*Message, 0, len(made))
	for _, row := range made {
		m, err := getMessageByRow(ctx, s.r, row)
		if err != nil {
			return nil, fmt.Errorf("store: expire incomplete: %w", err)
		}
		out = append(out, m)
	}
	return out, nil
}

// MarkRead marks an inbound message read (or unread).
func (s *Store) MarkRead(ctx context.Context, id string, read bool) error {
	return s.write(ctx, "mark read "+id, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE messages SET read = ? WHERE uid = ? AND direction = 'in'`, read, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("inbound message %q: %w", id, ErrNotFound)
		}
		return nil
	})
}

// Delete deletes an inbound message with its parts, or an outbound message
// in a final state; an outbound message still queued or sending gives
// ErrActive (cancel it first).
func (s *Store) Delete(ctx context.Context, id string) error {
	return s.write(ctx, "delete "+id, func(tx *sql.Tx) error {
		var row int64
		var dir Direction
		var state State
		err := tx.QueryRowContext(ctx, `SELECT id, direction, state FROM messages WHERE uid = ?`, id).Scan(&row, &dir, &state)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("message %q: %w", id, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if dir == Out && !state.Final() {
			return fmt.Errorf("message %q is %s: %w", id, state, ErrActive)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM messages WHERE id = ?`, row)
		return err
	})
}
