package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Direction of a message.
type Direction string

// Directions.
const (
	Out Direction = "out" // sent by the api
	In  Direction = "in"  // received from the network
)

// State of a message. Outbound: queued → sending → sent → delivered, or
// failed, expired, cancelled. Inbound: received, incomplete, undecodable.
type State string

// Message states.
const (
	StateQueued    State = "queued"    // accepted, not yet claimed by a modem's worker
	StateSending   State = "sending"   // claimed; parts are being submitted
	StateSent      State = "sent"      // every part left the modem (the SMSC accepted it)
	StateDelivered State = "delivered" // a status report says every part was delivered
	StateFailed    State = "failed"    // a part failed for good; Reason says why
	StateExpired   State = "expired"   // ValidUntil passed before it was sent
	StateCancelled State = "cancelled" // cancelled while queued

	StateReceived    State = "received"    // inbound, every part there
	StateIncomplete  State = "incomplete"  // inbound, parts missing after IncompleteAfter
	StateUndecodable State = "undecodable" // inbound, the PDU does not decode; kept raw
)

// Final reports whether no further transition can leave the state, except
// that a sent message may still become delivered or failed by a report.
func (s State) Final() bool { return s != StateQueued && s != StateSending }

// PartState is the state of one outbound part.
type PartState string

// Part states, in the order of the exactly-once route (AT+CMGW, then
// AT+CMSS); the AT+CMGS route skips writing and written.
const (
	PartQueued     PartState = "queued"     // not yet on the modem
	PartWriting    PartState = "writing"    // AT+CMGW may be in flight: a copy may be in the modem's memory at an index not yet known
	PartWritten    PartState = "written"    // stored in the modem's memory at StorageIndex (AT+CMGW), not submitted
	PartSubmitting PartState = "submitting" // AT+CMSS / AT+CMGS may be in flight: never submitted blindly again
	PartSent       PartState = "sent"       // the SMSC accepted it; MR is its TP-MR
	PartDelivered  PartState = "delivered"  // a status report said delivered
	PartFailed     PartState = "failed"     // failed for good; Error says why
	PartUnknown    PartState = "unknown"    // the submission was in flight at a crash and its outcome cannot be known
)

// NoMR is the MR of a part that has none (not sent, or the reference was lost).
const NoMR = -1

// SendOptions are the options of an outbound message.
type SendOptions struct {
	Validity     time.Duration // TP-VP, 0 for the SMSC's default
	StatusReport bool          // request a status report for every part
	Flash        bool          // class 0
	SendAt       time.Time     // not before; zero for now
	ValidUntil   time.Time     // expire if not sent by then; zero for never
}

// Part is one outbound part.
type Part struct {
	Seq          int
	State        PartState
	PDUHex       string
	MR           int // TP-MR, or NoMR
	StorageIndex int // the modem storage index while written there, or -1
	Attempts     int
	Error        string
	Status       int // TP-ST of the last status report, or -1
	SentAt       time.Time
	UpdatedAt    time.Time
}

// Message is a stored message of either direction.
type Message struct {
	ID        string      // the client's key, or generated
	Direction Direction   //
	ModemID   int64       // 0: not yet bound to a modem (outbound, queued)
	Modem     string      // the configured id of the modem it is bound to ("" while unbound or unnamed)
	Route     []string    // outbound: the configured ids of the modems that may send it (nil: any)
	ClientKey bool        // ID was chosen by the client
	Peer      string      // outbound: the recipient; inbound: the sender
	Text      string      // the text, or "" for data
	DataHex   string      // 8-bit data as hex, or ""
	Options   SendOptions // outbound; inbound: Flash is class 0
	State     State
	Reason    string // why it failed, expired or is incomplete
	PartCount int
	Parts     []Part // outbound parts (Get and ClaimNext fill it; List does not)
	CreatedAt time.Time
	UpdatedAt time.Time
	// FinishedAt is when it reached a final state (zero while queued or
	// sending); Retention counts from it.
	FinishedAt time.Time

	// Inbound only.
	SMSC    string    // the service centre's address
	SCTime  time.Time // TP-SCTS of the first part, in its own zone
	Read    bool      // marked read by a client
	Missing []int     // incomplete: the part numbers that never arrived

	row int64 // the row id: cursor order
}

// Transition is one recorded state change of a message (Seq 0) or part.
type Transition struct {
	Seq    int
	State  string
	Detail string
	At     time.Time
}

// messageColumns are selected by scanMessage, in its order.
const messageColumns = `m.id, m.uid, m.direction, coalesce(m.modem_id, 0), m.client_key, m.peer, m.text, m.data_hex,
	m.validity_s, m.status_report, m.flash, m.send_at, m.valid_until, m.state, m.reason, m.part_count,
	m.created_at, m.updated_at, coalesce(m.finished_at, 0), m.smsc, m.sc_time, m.sc_zone, m.read, m.missing,
	coalesce((SELECT name FROM modems WHERE modems.id = m.modem_id), ''), m.route`

type scanner interface{ Scan(dest ...any) error }

func scanMessage(sc scanner) (*Message, error) {
	var m Message
	var validity, sendAt, validUntil, created, updated, finished, scTime int64
	var scZone int
	var missing, route string
	err := sc.Scan(&m.row, &m.ID, &m.Direction, &m.ModemID, &m.ClientKey, &m.Peer, &m.Text, &m.DataHex,
		&validity, &m.Options.StatusReport, &m.Options.Flash, &sendAt, &validUntil, &m.State, &m.Reason, &m.PartCount,
		&created, &updated, &finished, &m.SMSC, &scTime, &scZone, &m.Read, &missing, &m.Modem, &route)
	if err != nil {
		return nil, err
	}
	m.Route = decodeRoute(route)
	if scTime != 0 {
		m.SCTime = time.UnixMilli(scTime).In(time.FixedZone("", scZone))
	}
	for f := range strings.SplitSeq(missing, ",") {
		if n, err := strconv.Atoi(f); err == nil {
			m.Missing = append(m.Missing, n)
		}
	}
	m.Options.Validity = time.Duration(validity) * time.Second
	m.Options.SendAt, m.Options.ValidUntil = msTime(sendAt), msTime(validUntil)
	m.CreatedAt, m.UpdatedAt, m.FinishedAt = msTime(created), msTime(updated), msTime(finished)
	return &m, nil
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// getMessage reads a message and its parts by uid.
func getMessage(ctx context.Context, q querier, uid string) (*Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages m WHERE m.uid = ?`, uid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("message %q: %w", uid, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("message %q: %w", uid, err)
	}
	if err := loadParts(ctx, q, m); err != nil {
		return nil, err
	}
	return m, nil
}

func getMessageByRow(ctx context.Context, q querier, row int64) (*Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages m WHERE m.id = ?`, row))
	if err != nil {
		return nil, fmt.Errorf("message row %d: %w", row, err)
	}
	if err := loadParts(ctx, q, m); err != nil {
		return nil, err
	}
	return m, nil
}

func loadParts(ctx context.Context, q querier, m *Message) error {
	if m.Direction != Out {
		return nil
	}
	rows, err := q.QueryContext(ctx, `SELECT seq, state, pdu_hex, coalesce(mr, -1), coalesce(storage_index, -1), attempts, error,
		coalesce(status, -1), coalesce(sent_at, 0), updated_at FROM parts WHERE message_id = ? ORDER BY seq`, m.row)
	if err != nil {
		return fmt.Errorf("parts of %q: %w", m.ID, err)
	}
	defer rows.Close()
	m.Parts = m.Parts[:0]
	for rows.Next() {
		var p Part
		var sent, updated int64
		if err := rows.Scan(&p.Seq, &p.State, &p.PDUHex, &p.MR, &p.StorageIndex, &p.Attempts, &p.Error, &p.Status, &sent, &updated); err != nil {
			return fmt.Errorf("parts of %q: %w", m.ID, err)
		}
		p.SentAt, p.UpdatedAt = msTime(sent), msTime(updated)
		m.Parts = append(m.Parts, p)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("parts of %q: %w", m.ID, err)
	}
	return nil
}

// Get returns the message with this id, with its parts; ErrNotFound if
// there is none.
func (s *Store) Get(ctx context.Context, id string) (*Message, error) {
	m, err := getMessage(ctx, s.r, id)
	if err != nil {
		return nil, fmt.Errorf("store: get: %w", err)
	}
	return m, nil
}

// History returns every recorded transition of the message and its parts,
// oldest first.
func (s *Store) History(ctx context.Context, id string) ([]Transition, error) {
	var row int64
	if err := s.r.QueryRowContext(ctx, `SELECT id FROM messages WHERE uid = ?`, id).Scan(&row); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			err = ErrNotFound
		}
		return nil, fmt.Errorf("store: history of %q: %w", id, err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, state, detail, at FROM transitions WHERE message_id = ? ORDER BY id`, row)
	if err != nil {
		return nil, fmt.Errorf("store: history of %q: %w", id, err)
	}
	defer rows.Close()
	var out []Transition
	for rows.Next() {
		var tr Transition
		var at int64
		if err := rows.Scan(&tr.Seq, &tr.State, &tr.Detail, &at); err != nil {
			return nil, fmt.Errorf("store: history of %q: %w", id, err)
		}
		tr.At = msTime(at)
		out = append(out, tr)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: history of %q: %w", id, err)
	}
	return out, nil
}

// recordTransition appends to the history; a message-level transition
// (seq 0) also appends the message's event (appendMessageEvent).
func recordTransition(ctx context.Context, tx *sql.Tx, row int64, seq int, state, detail string, at int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO transitions (message_id, seq, state, detail, at) VALUES (?, ?, ?, ?, ?)`,
		row, seq, state, detail, at)
	if err != nil {
		return fmt.Errorf("recording transition to %s: %w", state, err)
	}
	if seq == 0 { // the message's own state: its event, in the same transaction
		return appendMessageEvent(ctx, tx, row, at)
	}
	return nil
}

// setMessageState changes a message's state (if it differs), records the
// transition and sets finished_at for a final state.
func setMessageState(ctx context.Context, tx *sql.Tx, row int64, from, to State, reason string, at int64) error {
	if from == to {
		return nil
	}
	var finished any
	if to.Final() {
		finished = at
	}
	if _, err := tx.ExecContext(ctx, `UPDATE messages SET state = ?, reason = ?, updated_at = ?, finished_at = ? WHERE id = ?`,
		to, reason, at, finished, row); err != nil {
		return fmt.Errorf("setting state %s: %w", to, err)
	}
	return recordTransition(ctx, tx, row, 0, string(to), reason, at)
}

// validKey reports whether a client key is acceptable: 1 to 64 printable
// ASCII characters without spaces.
func validKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	return strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r > '~' }) < 0
}
