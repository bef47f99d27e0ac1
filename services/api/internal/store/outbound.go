package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// OutboundRequest is a message to send, as the HTTP layer validated and
// encoded it.
type OutboundRequest struct {
	// ID is the client's own key (the request's id or Idempotency-Key):
	// the same key with the same body returns the stored message, with a
	// different body ErrConflict. "" generates an id.
	ID      string
	To      string // the normalised recipient
	Text    string // the text, or "" when DataHex is set
	DataHex string // 8-bit data as hex
	Options SendOptions
	// Modem is the configured id of the modem the client pinned the
	// message to ("" for none); part of the body hash.
	Modem string
	// Route are the configured ids of the modems that may send it (nil
	// for any): Modem alone when pinned, else those of the recipient's
	// prefix rule. Derived from the configuration, not part of the hash.
	Route []string
	// Parts are the encoded parts, in order, as AT+CMGS/AT+CMGW take them
	// (SMSC prefix and SMS-SUBMIT, hex). They are encoded once, at accept,
	// so a part sent again after a crash has the same concatenation
	// reference as its siblings. Not part of the body hash.
	Parts []string
}

// BodyHash is the SHA-256 of the request's canonical form: every field
// except ID and Parts. Two requests with the same key are the same
// request when their hashes are equal.
func (r *OutboundRequest) BodyHash() string {
	h := sha256.New()
	field := func(s string) {
		var n [binary.MaxVarintLen64]byte
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	field("out/v1")
	field(r.To)
	field(r.Text)
	field(strings.ToUpper(r.DataHex))
	field(fmt.Sprint(int64(r.Options.Validity/time.Second), r.Options.StatusReport, r.Options.Flash,
		timeMs(r.Options.SendAt), timeMs(r.Options.ValidUntil), 0)) // 0: the modem row id of schema 1..5, kept so stored hashes stay valid
	if r.Modem != "" {
		field("modem:" + r.Modem)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (r *OutboundRequest) validate() error {
	var bad []string
	if r.ID != "" && !validKey(r.ID) {
		bad = append(bad, "id: 1 to 64 printable ASCII characters without spaces")
	}
	if r.To == "" {
		bad = append(bad, "to: required")
	}
	if (r.Text == "") == (r.DataHex == "") {
		bad = append(bad, "text or dataHex: exactly one is required")
	}
	if r.DataHex != "" && !isHex(r.DataHex) {
		bad = append(bad, "dataHex: hex digits, an even number")
	}
	if len(r.Parts) == 0 || len(r.Parts) > 255 {
		bad = append(bad, fmt.Sprintf("parts: 1 to 255 encoded parts, not %d", len(r.Parts)))
	}
	for i, p := range r.Parts {
		if !isHex(p) {
			bad = append(bad, fmt.Sprintf("parts[%d]: hex digits, an even number", i))
		}
	}
	if r.Modem != "" && !ValidModemName(r.Modem) {
		bad = append(bad, "modem: "+ModemNameRule)
	}
	for _, n := range r.Route {
		if !ValidModemName(n) {
			bad = append(bad, fmt.Sprintf("route %q: %s", n, ModemNameRule))
		}
	}
	if r.Options.Validity < 0 {
		bad = append(bad, "validity: not negative")
	}
	if !r.Options.ValidUntil.IsZero() && !r.Options.SendAt.IsZero() && !r.Options.ValidUntil.After(r.Options.SendAt) {
		bad = append(bad, "validUntil: after sendAt")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w request: %s", ErrInvalid, strings.Join(bad, "; "))
	}
	return nil
}

func isHex(s string) bool {
	if s == "" || len(s)%2 != 0 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// newID returns a random message id: 16 characters of base32 (80 bits).
func newID() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// AcceptOutbound stores a message to send, state queued, and returns it
// once it is committed. With a client key that is already stored, it
// returns the stored message and created=false if the body is the same,
// and ErrConflict if not (or if the key names an inbound message).
func (s *Store) AcceptOutbound(ctx context.Context, r OutboundRequest) (msg *Message, created bool, err error) {
	if err := r.validate(); err != nil {
		return nil, false, fmt.Errorf("store: accept: %w", err)
	}
	hash := r.BodyHash()
	var row int64
	err = s.write(ctx, "accept", func(tx *sql.Tx) error {
		id, clientKey := r.ID, r.ID != ""
		if clientKey {
			var storedHash string
			var dir Direction
			err := tx.QueryRowContext(ctx, `SELECT id, body_hash, direction FROM messages WHERE uid = ?`, id).Scan(&row, &storedHash, &dir)
			switch {
			case err == nil && dir == Out && storedHash == hash:
				return nil
			case err == nil:
				return fmt.Errorf("id %q: %w", id, ErrConflict)
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
		} else {
			id = newID()
		}
		now := s.nowMs()
		err := tx.QueryRowContext(ctx, `INSERT INTO messages (uid, direction, route, client_key, body_hash, peer, text, data_hex,
			validity_s, status_report, flash, send_at, valid_until, state, part_count, created_at, updated_at)
			VALUES (?, 'out', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?) RETURNING id`,
			id, encodeRoute(r.Route), clientKey, hash, r.To, r.Text, strings.ToUpper(r.DataHex),
			int64(r.Options.Validity/time.Second), r.Options.StatusReport, r.Options.Flash,
			timeMs(r.Options.SendAt), timeMs(r.Options.ValidUntil), len(r.Parts), now, now).Scan(&row)
		if err != nil {
			return fmt.Errorf("inserting the message: %w", err)
		}
		for i, p := range r.Parts {
			if _, err := tx.ExecContext(ctx, `INSERT INTO parts (message_id, seq, pdu_hex, state, updated_at) VALUES (?, ?, ?, 'queued', ?)`,
				row, i+1, strings.ToUpper(p), now); err != nil {
				return fmt.Errorf("inserting part %d: %w", i+1, err)
			}
		}
		created = true
		return recordTransition(ctx, tx, row, 0, string(StateQueued), "", now)
	})
	if err != nil {
		return nil, false, err
	}
	msg, err = getMessageByRow(ctx, s.r, row)
	if err != nil {
		return nil, false, fmt.Errorf("store: accept: reading back: %w", err)
	}
	return msg, created, nil
}

// Cancel cancels a queued outbound message. A message in any other state
// gives ErrNotCancellable (its parts may be on their way); an unknown id
// ErrNotFound.
func (s *Store) Cancel(ctx context.Context, id string) (*Message, error) {
	var row int64
	err := s.write(ctx, "cancel "+id, func(tx *sql.Tx) error {
		var state State
		var dir Direction
		err := tx.QueryRowContext(ctx, `SELECT id, state, direction FROM messages WHERE uid = ?`, id).Scan(&row, &state, &dir)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if dir != Out || state != StateQueued {
			return fmt.Errorf("%w: it is %s %s", ErrNotCancellable, dir, state)
		}
		return setMessageState(ctx, tx, row, state, StateCancelled, "", s.nowMs())
	})
	if err != nil {
		return nil, err
	}
	return getMessageByRow(ctx, s.r, row)
}

// ClaimNext is the outbox worker's next message for the modem (modemID,
// its row; name, its configured id, which a message's route must admit):
//
//   - first, queued messages whose ValidUntil has passed become expired;
//   - then a message this modem was already sending (claimed before a
//     crash or restart) is returned again, to be resumed part by part
//     from its stored part states;
//   - else the oldest queued message that is due (SendAt reached) and
//     whose route admits this modem (or any modem) is bound to the modem,
//     set to sending, and returned.
//
// With nothing due it returns a nil message and the time the next queued
// message becomes due (zero if none is waiting).
func (s *Store) ClaimNext(ctx context.Context, modemID int64, name string) (msg *Message, nextDue time.Time, err error) {
	var row int64
	err = s.write(ctx, "claim", func(tx *sql.Tx) error {
		now := s.nowMs()
		if err := expireDue(ctx, tx, now); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, `SELECT id FROM messages WHERE direction = 'out' AND state = 'sending' AND modem_id = ?
			ORDER BY id LIMIT 1`+s.claimLock(), modemID).Scan(&row)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		err = tx.QueryRowContext(ctx, `SELECT id FROM messages WHERE direction = 'out' AND state = 'queued'
			AND (modem_id IS NULL OR modem_id = ?) AND `+s.routeMatch()+` AND send_at <= ? ORDER BY id LIMIT 1`+s.claimLock(), modemID, name, now).Scan(&row)
		if errors.Is(err, sql.ErrNoRows) {
			row = 0
			// The first in send_at order: a walk of messages_outbox that
			// stops at the first row this modem may send, not a min()
			// over every queued row.
			var next int64
			err := tx.QueryRowContext(ctx, `SELECT send_at FROM messages WHERE direction = 'out' AND state = 'queued'
				AND (modem_id IS NULL OR modem_id = ?) AND `+s.routeMatch()+` ORDER BY send_at LIMIT 1`, modemID, name).Scan(&next)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			nextDue = msTime(next)
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET modem_id = ? WHERE id = ?`, modemID, row); err != nil {
			return err
		}
		return setMessageState(ctx, tx, row, StateQueued, StateSending, "", now)
	})
	if err != nil || row == 0 {
		return nil, nextDue, err
	}
	msg, err = getMessageByRow(ctx, s.r, row)
	return msg, time.Time{}, err
}

func expireDue(ctx context.Context, tx *sql.Tx, now int64) error {
	rows, err := tx.QueryContext(ctx, `SELECT id FROM messages WHERE direction = 'out' AND state = 'queued'
		AND valid_until > 0 AND valid_until <= ?`, now) // any worker expires any message: time, not a modem, decides
	if err != nil {
		return fmt.Errorf("finding expired messages: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, id := range ids {
		if err := setMessageState(ctx, tx, id, StateQueued, StateExpired, "validUntil passed before it was sent", now); err != nil {
			return err
		}
	}
	return nil
}

// PartWriting records that AT+CMGW is about to write the part to the
// modem's memory. Commit this before the command: a part found writing
// after a crash may have a copy at an index the store does not know, which
// the worker must find (AT+CMGL, by content) before writing it again.
func (s *Store) PartWriting(ctx context.Context, id string, seq int) (State, error) {
	return s.partTransition(ctx, id, seq, PartWriting, "", func(p *partRow) error {
		if p.state != PartQueued {
			return p.refuse(PartWriting)
		}
		return nil
	})
}

// PartWritten records that the part was written to the modem's memory at
// index (AT+CMGW) and not submitted yet. Commit this before AT+CMSS.
func (s *Store) PartWritten(ctx context.Context, id string, seq, index int) (State, error) {
	if index < 0 {
		return "", fmt.Errorf("store: part written: %w index %d", ErrInvalid, index)
	}
	return s.partTransition(ctx, id, seq, PartWritten, fmt.Sprintf("index %d", index), func(p *partRow) error {
		if p.state != PartQueued && p.state != PartWriting {
			return p.refuse(PartWritten)
		}
		p.index = sql.NullInt64{Int64: int64(index), Valid: true}
		return nil
	})
}

// PartSubmitting records that AT+CMSS (or AT+CMGS) is about to be sent for
// the part. Commit this before the command: a part found submitting after
// a crash is never submitted blindly again (see the package doc).
func (s *Store) PartSubmitting(ctx context.Context, id string, seq int) (State, error) {
	return s.partTransition(ctx, id, seq, PartSubmitting, "", func(p *partRow) error {
		if p.state != PartQueued && p.state != PartWritten {
			return p.refuse(PartSubmitting)
		}
		p.attempts++
		return nil
	})
}

// PartSent records that the SMSC accepted the part with TP-MR mr (NoMR if
// the reference was lost, e.g. the modem's STO SENT status was read after
// a crash). The part is never submitted again.
func (s *Store) PartSent(ctx context.Context, id string, seq, mr int) (State, error) {
	if mr < NoMR || mr > 255 {
		return "", fmt.Errorf("store: part sent: %w TP-MR %d", ErrInvalid, mr)
	}
	detail := "mr unknown"
	if mr != NoMR {
		detail = fmt.Sprintf("mr %d", mr)
	}
	return s.partTransition(ctx, id, seq, PartSent, detail, func(p *partRow) error {
		if p.state != PartSubmitting {
			return p.refuse(PartSent)
		}
		if mr != NoMR {
			p.mr = sql.NullInt64{Int64: int64(mr), Valid: true}
		}
		p.sentAt = sql.NullInt64{Int64: p.now, Valid: true}
		return nil
	})
}

// PartFailed records a permanent failure of the part (e.g. a +CMS ERROR
// the network will not change its mind about); the message fails.
func (s *Store) PartFailed(ctx context.Context, id string, seq int, reason string) (State, error) {
	return s.partTransition(ctx, id, seq, PartFailed, reason, func(p *partRow) error {
		if p.state != PartQueued && p.state != PartWriting && p.state != PartWritten && p.state != PartSubmitting {
			return p.refuse(PartFailed)
		}
		p.err = reason
		return nil
	})
}

// PartUnknown records that the part's submission was in flight at a crash
// and its outcome cannot be known (the AT+CMGS route, or a stored message
// that is gone). It is not submitted again; the message fails with the
// reason "outcome unknown".
func (s *Store) PartUnknown(ctx context.Context, id string, seq int, reason string) (State, error) {
	return s.partTransition(ctx, id, seq, PartUnknown, reason, func(p *partRow) error {
		if p.state != PartSubmitting {
			return p.refuse(PartUnknown)
		}
		p.err = reason
		return nil
	})
}

// PartRetry records a transient failure of a submission the modem
// answered (so it certainly did not go out): the part goes back to written
// (if it is in the modem's memory) or queued, to be submitted again. A
// part that is writing goes back to queued (the write was refused, or no
// copy of it was found in the modem's memory).
func (s *Store) PartRetry(ctx context.Context, id string, seq int, reason string) (State, error) {
	var to PartState
	return s.partTransitionTo(ctx, id, seq, func(p *partRow) (PartState, string, error) {
		if p.state == PartWriting {
			p.err = reason
			return PartQueued, "retry: " + reason, nil
		}
		if p.state != PartSubmitting {
			return "", "", p.refuse(PartQueued)
		}
		to = PartQueued
		if p.index.Valid {
			to = PartWritten
		}
		p.err = reason
		return to, "retry: " + reason, nil
	})
}

// PartRemoved records that the part's copy in the modem's memory was
// deleted (AT+CMGD): its storage index is cleared. The state is unchanged.
// Unlike the other transitions it is allowed in any message state: the
// copy of a message's last part is deleted after the message became sent
// (or failed).
func (s *Store) PartRemoved(ctx context.Context, id string, seq int) (State, error) {
	return s.partTransitionAny(ctx, id, seq, func(p *partRow) (PartState, string, error) {
		if !p.index.Valid {
			return "", "", fmt.Errorf("%w: part %d has no storage index", ErrInvalidTransition, seq)
		}
		detail := fmt.Sprintf("removed from index %d", p.index.Int64)
		p.index = sql.NullInt64{}
		return p.state, detail, nil
	})
}

// partRow is a part's mutable columns, loaded and written back by a
// transition.
type partRow struct {
	msgRow   int64
	msgState State
	seq      int
	state    PartState
	mr       sql.NullInt64
	index    sql.NullInt64
	attempts int
	err      string
	status   sql.NullInt64
	sentAt   sql.NullInt64
	now      int64
}

func (p *partRow) refuse(to PartState) error {
	return fmt.Errorf("%w: part %d is %s, cannot become %s", ErrInvalidTransition, p.seq, p.state, to)
}

func (s *Store) partTransition(ctx context.Context, id string, seq int, to PartState, detail string, f func(*partRow) error) (State, error) {
	return s.partTransitionTo(ctx, id, seq, func(p *partRow) (PartState, string, error) {
		return to, detail, f(p)
	})
}

// partTransitionTo loads the part, lets f change it, writes it back,
// records the transition and rolls the message's state up, in one
// transaction. It returns the message's state after.
func (s *Store) partTransitionTo(ctx context.Context, id string, seq int, f func(*partRow) (PartState, string, error)) (State, error) {
	return s.partTransitionIn(ctx, id, seq, true, f)
}

// partTransitionAny is partTransitionTo in any message state.
func (s *Store) partTransitionAny(ctx context.Context, id string, seq int, f func(*partRow) (PartState, string, error)) (State, error) {
	return s.partTransitionIn(ctx, id, seq, false, f)
}

func (s *Store) partTransitionIn(ctx context.Context, id string, seq int, sendingOnly bool, f func(*partRow) (PartState, string, error)) (State, error) {
	var after State
	err := s.write(ctx, fmt.Sprintf("part %d of %q", seq, id), func(tx *sql.Tx) error {
		p := partRow{seq: seq, now: s.nowMs()}
		err := tx.QueryRowContext(ctx, `SELECT m.id, m.state, p.state, p.mr, p.storage_index, p.attempts, p.error, p.status, p.sent_at
			FROM messages m JOIN parts p ON p.message_id = m.id WHERE m.uid = ? AND p.seq = ?`, id, seq).
			Scan(&p.msgRow, &p.msgState, &p.state, &p.mr, &p.index, &p.attempts, &p.err, &p.status, &p.sentAt)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if sendingOnly && p.msgState != StateSending {
			return fmt.Errorf("%w: the message is %s, not sending", ErrInvalidTransition, p.msgState)
		}
		to, detail, err := f(&p)
		if err != nil {
			return err
		}
		if err := writePart(ctx, tx, &p, to); err != nil {
			return err
		}
		if err := recordTransition(ctx, tx, p.msgRow, seq, string(to), detail, p.now); err != nil {
			return err
		}
		if !sendingOnly { // the part's state did not change: nothing to roll up
			after = p.msgState
			return nil
		}
		after, err = rollUp(ctx, tx, p.msgRow, p.msgState, p.now)
		return err
	})
	return after, err
}

func writePart(ctx context.Context, tx *sql.Tx, p *partRow, to PartState) error {
	p.state = to
	_, err := tx.ExecContext(ctx, `UPDATE parts SET state = ?, mr = ?, storage_index = ?, attempts = ?, error = ?, status = ?, sent_at = ?,
		updated_at = ? WHERE message_id = ? AND seq = ?`,
		p.state, p.mr, p.index, p.attempts, p.err, p.status, p.sentAt, p.now, p.msgRow, p.seq)
	if err != nil {
		return fmt.Errorf("updating part %d: %w", p.seq, err)
	}
	return nil
}

// rollUp derives the message's state from its parts and records a change:
// any part failed or unknown → failed (the first such part's reason); all
// delivered → delivered; all sent or delivered → sent; else sending.
func rollUp(ctx context.Context, tx *sql.Tx, row int64, current State, now int64) (State, error) {
	rows, err := tx.QueryContext(ctx, `SELECT seq, state, error FROM parts WHERE message_id = ? ORDER BY seq`, row)
	if err != nil {
		return "", fmt.Errorf("rolling up: %w", err)
	}
	var states []PartState
	reason := ""
	for rows.Next() {
		var seq int
		var st PartState
		var perr string
		if err := rows.Scan(&seq, &st, &perr); err != nil {
			rows.Close()
			return "", fmt.Errorf("rolling up: %w", err)
		}
		if reason == "" && st == PartFailed {
			reason = fmt.Sprintf("part %d: %s", seq, perr)
		}
		if reason == "" && st == PartUnknown {
			reason = fmt.Sprintf("part %d: outcome unknown: %s", seq, perr)
		}
		states = append(states, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("rolling up: %w", err)
	}
	to := rollUpStates(states, current)
	if to == StateFailed && current == StateFailed {
		return to, nil
	}
	if err := setMessageState(ctx, tx, row, current, to, reason, now); err != nil {
		return "", err
	}
	return to, nil
}

// rollUpStates is rollUp's rule on the part states alone.
func rollUpStates(parts []PartState, current State) State {
	if len(parts) == 0 {
		return current
	}
	delivered, done := 0, 0
	for _, p := range parts {
		switch p {
		case PartFailed, PartUnknown:
			return StateFailed
		case PartDelivered:
			delivered++
			done++
		case PartSent:
			done++
		}
	}
	switch {
	case delivered == len(parts):
		return StateDelivered
	case done == len(parts):
		return StateSent
	case current == StateQueued:
		return StateQueued
	}
	return StateSending
}
