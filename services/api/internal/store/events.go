package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Event types. A message's events are written by the transaction that
// changes its state; the modem's by the api when the relay session or the
// status snapshot changes.
const (
	EventMessageQueued     = "message.queued"    // an outbound message was accepted
	EventMessageSent       = "message.sent"      // every part left the modem
	EventMessageDelivered  = "message.delivered" // status reports say every part was delivered
	EventMessageFailed     = "message.failed"    // a part failed for good (or its outcome is unknown)
	EventMessageExpired    = "message.expired"   // validUntil passed before it was sent
	EventMessageCancelled  = "message.cancelled" // cancelled while queued
	EventSMSReceived       = "sms.received"      // one per whole received message, after reassembly
	EventReportUnmatched   = "report.unmatched"  // a status report that matches no sent part
	EventModemConnected    = "modem.connected"   // the relay session is ready
	EventModemDisconnect   = "modem.disconnected"
	EventModemRegistration = "modem.registration" // the network registration changed
	EventModemSIM          = "modem.sim"          // the SIM state changed
)

// EventTypes lists every event type, for validation and documentation.
var EventTypes = []string{
	EventMessageQueued, EventMessageSent, EventMessageDelivered, EventMessageFailed, EventMessageExpired,
	EventMessageCancelled, EventSMSReceived, EventReportUnmatched, EventModemConnected, EventModemDisconnect,
	EventModemRegistration, EventModemSIM,
}

// ValidEventPattern reports whether p names event types: a type of
// EventTypes, a family such as "message.*", or "*" for all.
func ValidEventPattern(p string) bool {
	if p == "*" {
		return true
	}
	if fam, ok := strings.CutSuffix(p, ".*"); ok {
		for _, t := range EventTypes {
			if strings.HasPrefix(t, fam+".") {
				return true
			}
		}
		return false
	}
	for _, t := range EventTypes {
		if t == p {
			return true
		}
	}
	return false
}

// Event is one entry of the event log.
type Event struct {
	Seq  int64           // the log's order: strictly increasing, never reused; the SSE id
	ID   string          // stable id ("evt_…"): receivers deduplicate by it
	Type string          //
	Time time.Time       // when the change was committed (UTC, millisecond precision)
	Data json.RawMessage // the payload, as committed
}

// eventBody is the JSON shape of an event as webhooks and SSE send it.
type eventBody struct {
	ID   string          `json:"id"`
	Seq  int64           `json:"seq"`
	Type string          `json:"type"`
	Time string          `json:"time"`
	Data json.RawMessage `json:"data"`
}

// Body is the event as webhooks and the SSE stream send it:
// {"id","seq","type","time","data"}. It is a function of the stored row
// alone, so a redelivery after a crash sends identical bytes.
func (e *Event) Body() []byte {
	b, err := json.Marshal(eventBody{ID: e.ID, Seq: e.Seq, Type: e.Type, Time: e.Time.UTC().Format(time.RFC3339Nano), Data: e.Data})
	if err != nil { // Data was valid JSON when it was committed
		panic(fmt.Sprintf("store: event %d: %v", e.Seq, err))
	}
	return b
}

// EventMessage is a message as its events carry it: everything a receiver
// needs without a second call.
type EventMessage struct {
	ID           string      `json:"id"`
	Direction    Direction   `json:"direction"`
	Peer         string      `json:"peer"`
	State        State       `json:"state"`
	Reason       string      `json:"reason,omitempty"`
	Text         string      `json:"text,omitempty"`
	DataHex      string      `json:"dataHex,omitempty"`
	PartCount    int         `json:"partCount"`
	Parts        []EventPart `json:"parts,omitempty"`
	StatusReport bool        `json:"statusReport,omitempty"`
	Flash        bool        `json:"flash,omitempty"`
	Incomplete   bool        `json:"incomplete,omitempty"`
	Missing      []int       `json:"missing,omitempty"`
	SMSC         string      `json:"smsc,omitempty"`
	SCTime       string      `json:"scTime,omitempty"` // the service centre's time stamp, in its own zone
	Modem        *EventModem `json:"modem,omitempty"`
	CreatedAt    time.Time   `json:"createdAt"`
	UpdatedAt    time.Time   `json:"updatedAt"`
}

// EventPart is an outbound part in an event.
type EventPart struct {
	Seq    int       `json:"seq"`
	State  PartState `json:"state"`
	MR     *int      `json:"mr,omitempty"`     // TP-MR once sent
	Status *int      `json:"status,omitempty"` // TP-ST of the last status report
	Error  string    `json:"error,omitempty"`
}

// EventModem names the modem a message belongs to.
type EventModem struct {
	ID    string `json:"id,omitempty"` // the configured id of the modem entry
	IMEI  string `json:"imei"`
	IMSI  string `json:"imsi"`
	ICCID string `json:"iccid"`
}

// EventReport is a status report in a report.unmatched event.
type EventReport struct {
	ID            int64     `json:"id"`
	Modem         string    `json:"modem,omitempty"` // the configured id of the modem entry that received it
	MR            int       `json:"mr"`
	Recipient     string    `json:"recipient"`
	Status        int       `json:"status"`
	StatusText    string    `json:"statusText,omitempty"`
	Outcome       Outcome   `json:"outcome"`
	Error         string    `json:"error,omitempty"`
	ReceivedAt    time.Time `json:"receivedAt"`
	SCTime        time.Time `json:"scTime,omitzero"`
	DischargeTime time.Time `json:"dischargeTime,omitzero"`
}

// messageEventType is the event a message's new state is reported by, or
// "" for a state no event reports (sending).
func messageEventType(dir Direction, state State) string {
	if dir == In {
		return EventSMSReceived // received, incomplete or undecodable: once, when the message is made
	}
	switch state {
	case StateQueued:
		return EventMessageQueued
	case StateSent:
		return EventMessageSent
	case StateDelivered:
		return EventMessageDelivered
	case StateFailed:
		return EventMessageFailed
	case StateExpired:
		return EventMessageExpired
	case StateCancelled:
		return EventMessageCancelled
	}
	return ""
}

// appendMessageEvent appends the event of the message's state change, in
// the transaction that made it (recordTransition calls it for every
// message-level transition), with the message as the transaction sees it.
func appendMessageEvent(ctx context.Context, tx *sql.Tx, row int64, at int64) error {
	m, err := getMessageByRow(ctx, tx, row)
	if err != nil {
		return fmt.Errorf("the message's event: %w", err)
	}
	typ := messageEventType(m.Direction, m.State)
	if typ == "" {
		return nil
	}
	em := EventMessage{
		ID: m.ID, Direction: m.Direction, Peer: m.Peer, State: m.State, Reason: m.Reason, Text: m.Text, DataHex: m.DataHex,
		PartCount: m.PartCount, StatusReport: m.Options.StatusReport, Flash: m.Options.Flash,
		Incomplete: m.State == StateIncomplete, Missing: m.Missing, SMSC: m.SMSC,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt,
	}
	if !m.SCTime.IsZero() {
		em.SCTime = m.SCTime.Format(time.RFC3339)
	}
	for _, p := range m.Parts {
		ep := EventPart{Seq: p.Seq, State: p.State, Error: p.Error}
		if p.MR != NoMR {
			ep.MR = &p.MR
		}
		if p.Status >= 0 {
			ep.Status = &p.Status
		}
		em.Parts = append(em.Parts, ep)
	}
	if m.ModemID != 0 {
		var md EventModem
		err := tx.QueryRowContext(ctx, `SELECT name, imei, imsi, iccid FROM modems WHERE id = ?`, m.ModemID).Scan(&md.ID, &md.IMEI, &md.IMSI, &md.ICCID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("the message's event: its modem: %w", err)
		}
		if err == nil {
			em.Modem = &md
		}
	}
	_, err = appendEvent(ctx, tx, typ, map[string]any{"message": em}, at)
	return err
}

// appendReportEvent appends report.unmatched for the stored report id.
func appendReportEvent(ctx context.Context, tx *sql.Tx, id int64, at int64) error {
	r, err := scanReport(tx.QueryRowContext(ctx, `SELECT `+reportColumns+` FROM reports r LEFT JOIN messages m ON m.id = r.message_id WHERE r.id = ?`, id))
	if err != nil {
		return fmt.Errorf("the report's event: %w", err)
	}
	er := EventReport{ID: r.ID, Modem: r.Modem, MR: r.MR, Recipient: r.Recipient, Status: r.Status, StatusText: r.StatusText, Outcome: r.Outcome,
		Error: r.Error, ReceivedAt: r.ReceivedAt, SCTime: r.SCTime, DischargeTime: r.DischargeTime}
	_, err = appendEvent(ctx, tx, EventReportUnmatched, map[string]any{"report": er}, at)
	return err
}

// appendEvent inserts an event in tx: it is committed, or rolled back,
// with the change it reports.
func appendEvent(ctx context.Context, tx *sql.Tx, typ string, data any, at int64) (Event, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return Event{}, fmt.Errorf("event %s: encoding its data: %w", typ, err)
	}
	e := Event{ID: "evt_" + newID(), Type: typ, Time: msTime(at), Data: b}
	if err := tx.QueryRowContext(ctx, `INSERT INTO events (uid, type, at, data) VALUES (?, ?, ?, ?) RETURNING seq`,
		e.ID, typ, at, string(b)).Scan(&e.Seq); err != nil {
		return Event{}, fmt.Errorf("appending event %s: %w", typ, err)
	}
	return e, nil
}

// AppendEvent appends an event that reports no store change of its own
// (the modem's events), with data as its JSON payload, and returns it once
// committed.
func (s *Store) AppendEvent(ctx context.Context, typ string, data any) (Event, error) {
	if !ValidEventPattern(typ) || strings.Contains(typ, "*") {
		return Event{}, fmt.Errorf("store: append event: %w type %q", ErrInvalid, typ)
	}
	var e Event
	err := s.write(ctx, "append event "+typ, func(tx *sql.Tx) error {
		var err error
		e, err = appendEvent(ctx, tx, typ, data, s.nowMs())
		return err
	})
	return e, err
}

// eventTypeFilter is the SQL condition (and its arguments) selecting the
// event types of patterns; none selects all.
func eventTypeFilter(patterns []string) (string, []any) {
	var conds []string
	var args []any
	for _, p := range patterns {
		switch {
		case p == "*":
			return "TRUE", nil
		case strings.HasSuffix(p, ".*"):
			conds = append(conds, "type LIKE ? ESCAPE '\\'")
			args = append(args, strings.NewReplacer("%", "\\%", "_", "\\_").Replace(strings.TrimSuffix(p, "*"))+"%")
		default:
			conds = append(conds, "type = ?")
			args = append(args, p)
		}
	}
	if len(conds) == 0 {
		return "TRUE", nil
	}
	return "(" + strings.Join(conds, " OR ") + ")", args
}

// Events returns at most limit events after seq after (0: from the
// oldest kept), in order, of the types patterns names (none: all).
func (s *Store) Events(ctx context.Context, after int64, patterns []string, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	cond, args := eventTypeFilter(patterns)
	rows, err := s.r.QueryContext(ctx, `SELECT seq, uid, type, at, data FROM events WHERE seq > ? AND `+cond+` ORDER BY seq LIMIT ?`,
		append(append([]any{after}, args...), limit)...)
	if err != nil {
		return nil, fmt.Errorf("store: events after %d: %w", after, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("store: events after %d: %w", after, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: events after %d: %w", after, err)
	}
	return out, nil
}

func scanEvent(sc scanner) (Event, error) {
	var e Event
	var at int64
	var data string
	if err := sc.Scan(&e.Seq, &e.ID, &e.Type, &at, &data); err != nil {
		return Event{}, err
	}
	e.Time, e.Data = msTime(at), json.RawMessage(data)
	return e, nil
}

// LastEventSeq is the sequence number of the newest event, 0 if none.
func (s *Store) LastEventSeq(ctx context.Context) (int64, error) {
	var seq int64
	// sqlite_sequence, and PostgreSQL's sequence of the identity column,
	// keep the highest seq ever given, even after retention deleted every
	// event.
	err := s.r.QueryRowContext(ctx, `SELECT `+s.lastEventSeqSQL()).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("store: last event: %w", err)
	}
	return seq, nil
}

// lastEventSeqSQL is the SQL expression of the highest seq ever given
// (LastEventSeq).
func (s *Store) lastEventSeqSQL() string {
	if s.Postgres() {
		return `coalesce(pg_sequence_last_value(pg_get_serial_sequence('events', 'seq')), 0)`
	}
	return `coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)`
}

// EventsChanged returns a channel closed after the next commit: a reader
// takes it, reads the log after its last seq, and waits on it before
// reading again, so no append is missed between the read and the wait.
// Commits that append no event also close it; readers re-read by seq.
func (s *Store) EventsChanged() <-chan struct{} { return s.changed.wait() }

// commitNotifier wakes everyone waiting for the next commit.
type commitNotifier struct {
	mu sync.Mutex
	ch chan struct{}
}

func (n *commitNotifier) wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	return n.ch
}

func (n *commitNotifier) notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
}
