package httpapi

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/sim-modem-api/sim-modem-api/modem/pdu"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// InboxStore is what the inbox and report endpoints use of the message
// store (*store.Store).
type InboxStore interface {
	List(ctx context.Context, f store.Filter) (*store.Page, error)
	Get(ctx context.Context, id string) (*store.Message, error)
	MarkRead(ctx context.Context, id string, read bool) error
	Delete(ctx context.Context, id string) error
	ReceivedParts(ctx context.Context, ids ...string) (map[string][]store.ReceivedPart, error)
	Reports(ctx context.Context, unmatchedOnly bool, limit int) ([]*store.Report, error)
}

var _ InboxStore = (*store.Store)(nil)

// inboxRoutes registers the inbox and the status reports (user role).
func (s *server) inboxRoutes(app *fiber.App, user fiber.Handler) {
	app.Get("/v1/inbox", user, s.listInbox)
	app.Get("/v1/inbox/:id", user, s.getInbox)
	app.Delete("/v1/inbox/:id", user, s.deleteInbox)
	app.Get("/v1/reports", user, s.listReports)
}

// InboxMessage is a received SMS as GET /v1/inbox shows it.
type InboxMessage struct {
	ID   string `json:"id"`
	From string `json:"from"` // the sender: +international, national or short-code digits, or an alphanumeric name
	Text string `json:"text,omitempty"`
	// DataHex is 8-bit data (a binary SMS) as hex; Text is then empty.
	DataHex string `json:"dataHex,omitempty"`
	// Encoding of the parts: gsm7, ucs2, 8bit; mixed if they differ;
	// unknown for an undecodable PDU.
	Encoding string `json:"encoding"`
	Class0   bool   `json:"class0"` // a flash SMS (message class 0)
	SMSC     string `json:"smsc,omitempty"`
	// SCTime is the service centre's time stamp (TP-SCTS) of the first
	// part, with the zone it gave (RFC 3339).
	SCTime       string    `json:"scTime,omitempty"`
	ReceivedAt   time.Time `json:"receivedAt"`
	State        string    `json:"state"`           // received, incomplete, undecodable
	Modem        string    `json:"modem,omitempty"` // the configured id of the modem that received it
	Reason       string    `json:"reason,omitempty"`
	PartCount    int       `json:"partCount"`
	Incomplete   bool      `json:"incomplete"`
	MissingParts []int     `json:"missingParts,omitempty"`
	Read         bool      `json:"read"`
	// Parts are the raw parts as read from the modem (GET /v1/inbox/{id}).
	Parts []InboxPart `json:"parts,omitempty"`
}

// InboxPart is one received part, raw.
type InboxPart struct {
	Seq        int       `json:"seq"` // 0 for a single message
	PDU        string    `json:"pdu"` // SMSC address and SMS-DELIVER, hex, as the modem showed it
	Storage    string    `json:"storage"`
	Index      int       `json:"index"`
	ReceivedAt time.Time `json:"receivedAt"`
}

// InboxPage is the answer of GET /v1/inbox.
type InboxPage struct {
	Messages []InboxMessage `json:"messages"`
	// Next is the cursor of the next page; absent on the last one.
	Next string `json:"next,omitempty"`
}

// queryParams reads the query, refusing parameters not in allowed and
// repeated ones with 400 naming them.
func queryParams(c *fiber.Ctx, allowed ...string) (map[string]string, error) {
	out := map[string]string{}
	var bad *Error
	c.Context().QueryArgs().VisitAll(func(k, v []byte) {
		name := string(k)
		switch {
		case bad != nil:
		case !containsString(allowed, name):
			bad = badRequest("unknown query parameter "+strconvQuote(name)+"; known: "+strings.Join(allowed, ", "),
				FieldMessage{name, "unknown query parameter"})
		case hasKey(out, name):
			bad = badRequest("query parameter "+name+" given twice", FieldMessage{name, "given twice"})
		default:
			out[name] = string(v)
		}
	})
	if bad != nil {
		return nil, bad
	}
	return out, nil
}

func containsString(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// queryError is the 400 of one query parameter.
func queryError(name, msg string) *Error {
	return badRequest(name+": "+msg, FieldMessage{name, msg})
}

func queryBool(q map[string]string, name string) (bool, error) {
	v, ok := q[name]
	if !ok {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, queryError(name, "want true or false")
	}
	return b, nil
}

func queryLimit(q map[string]string) (int, error) {
	v, ok := q["limit"]
	if !ok {
		return store.DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > store.MaxLimit {
		return 0, queryError("limit", "want a whole number from 1 to "+strconv.Itoa(store.MaxLimit))
	}
	return n, nil
}

func (s *server) inbox() (InboxStore, error) {
	if s.Inbox == nil {
		return nil, &Error{Status: fiber.StatusServiceUnavailable, Code: "store_unavailable", Message: "the message store is not open"}
	}
	return s.Inbox, nil
}

// storeErr maps a store error.
func storeErr(err error, id string) *Error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: fiber.StatusNotFound, Code: "not_found", Message: "no received message " + strconvQuote(id)}
	case errors.Is(err, store.ErrBadCursor):
		return queryError("cursor", "not a cursor of this listing (take next from the previous page, with the same filters)")
	}
	return &Error{Status: fiber.StatusInternalServerError, Code: "store_error", Message: "the message store failed; see the api's log"}
}

func (s *server) listInbox(c *fiber.Ctx) error {
	st, err := s.inbox()
	if err != nil {
		return err
	}
	q, err := queryParams(c, "since", "from", "unread", "limit", "cursor")
	if err != nil {
		return err
	}
	f := store.Filter{Direction: store.In}
	if v, ok := q["since"]; ok {
		if f.Since, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return queryError("since", "want an RFC 3339 time, e.g. 2025-03-01T12:00:00Z")
		}
	}
	if v, ok := q["from"]; ok {
		if v = strings.TrimSpace(v); v == "" || len(v) > 32 {
			return queryError("from", "want the sender as messages show it in from (1 to 32 characters)")
		}
		f.From = v
	}
	if f.Unread, err = queryBool(q, "unread"); err != nil {
		return err
	}
	if f.Limit, err = queryLimit(q); err != nil {
		return err
	}
	if v, ok := q["cursor"]; ok {
		if v == "" {
			return queryError("cursor", "empty")
		}
		f.Cursor = v
	}
	page, err := st.List(c.UserContext(), f)
	if err != nil {
		if e := storeErr(err, ""); e.Status != fiber.StatusInternalServerError {
			return e
		}
		s.Log.Error("inbox: listing failed", "err", err)
		return storeErr(err, "")
	}
	ids := make([]string, len(page.Messages))
	for i, m := range page.Messages {
		ids[i] = m.ID
	}
	parts, err := st.ReceivedParts(c.UserContext(), ids...)
	if err != nil {
		s.Log.Error("inbox: reading parts failed", "err", err)
		return storeErr(err, "")
	}
	out := InboxPage{Messages: make([]InboxMessage, 0, len(page.Messages)), Next: page.Next}
	for _, m := range page.Messages {
		out.Messages = append(out.Messages, inboxMessage(m, parts[m.ID], false))
	}
	return c.JSON(out)
}

// getInbox answers one received message and marks it read.
func (s *server) getInbox(c *fiber.Ctx) error {
	st, m, err := s.receivedMessage(c)
	if err != nil {
		return err
	}
	if !m.Read {
		if err := st.MarkRead(c.UserContext(), m.ID, true); err != nil {
			return s.inboxStoreErr("reading a message", m.ID, err)
		}
		m.Read = true
	}
	parts, err := st.ReceivedParts(c.UserContext(), m.ID)
	if err != nil {
		s.Log.Error("inbox: reading parts failed", "id", m.ID, "err", err)
		return storeErr(err, m.ID)
	}
	return c.JSON(inboxMessage(m, parts[m.ID], true))
}

func (s *server) deleteInbox(c *fiber.Ctx) error {
	st, m, err := s.receivedMessage(c)
	if err != nil {
		return err
	}
	if err := st.Delete(c.UserContext(), m.ID); err != nil {
		return s.inboxStoreErr("deleting a message", m.ID, err)
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// receivedMessage is the received message the route's :id names (a sent
// message's id is not found), for GET and DELETE /v1/inbox/{id}.
func (s *server) receivedMessage(c *fiber.Ctx) (InboxStore, *store.Message, error) {
	st, err := s.inbox()
	if err != nil {
		return nil, nil, err
	}
	if _, err := queryParams(c); err != nil {
		return nil, nil, err
	}
	id := c.Params("id")
	m, err := st.Get(c.UserContext(), id)
	if err == nil && m.Direction != store.In {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, nil, s.inboxStoreErr("reading a message", id, err)
	}
	return st, m, nil
}

// inboxStoreErr maps a store error about message id, logging it unless it
// is only that the message is not (or no longer) there.
func (s *server) inboxStoreErr(what, id string, err error) error {
	e := storeErr(err, id)
	if e.Status != fiber.StatusNotFound {
		s.Log.Error("inbox: "+what+" failed", "id", id, "err", err)
	}
	return e
}

func inboxMessage(m *store.Message, parts []store.ReceivedPart, withParts bool) InboxMessage {
	out := InboxMessage{
		ID: m.ID, From: m.Peer, Text: m.Text, DataHex: m.DataHex, Encoding: encodingOf(m, parts), Class0: m.Options.Flash,
		SMSC: m.SMSC, ReceivedAt: m.CreatedAt, State: string(m.State), Reason: m.Reason, PartCount: m.PartCount,
		Incomplete: m.State == store.StateIncomplete, MissingParts: m.Missing, Read: m.Read, Modem: m.Modem,
	}
	if !m.SCTime.IsZero() {
		out.SCTime = m.SCTime.Format(time.RFC3339)
	}
	if withParts {
		for _, p := range parts {
			out.Parts = append(out.Parts, InboxPart{Seq: p.Seq, PDU: p.PDUHex, Storage: p.Storage, Index: p.Index, ReceivedAt: p.ReceivedAt})
		}
	}
	return out
}

// encodingOf names the alphabet of the message's parts.
func encodingOf(m *store.Message, parts []store.ReceivedPart) string {
	if m.State == store.StateUndecodable || len(parts) == 0 {
		return "unknown"
	}
	names := map[pdu.Alphabet]string{pdu.AlphabetGSM7: "gsm7", pdu.AlphabetUCS2: "ucs2", pdu.Alphabet8Bit: "8bit"}
	enc := names[parts[0].Alphabet]
	for _, p := range parts[1:] {
		if names[p.Alphabet] != enc {
			return "mixed"
		}
	}
	if enc == "" {
		return "unknown"
	}
	return enc
}

// ReportJSON is a stored status report as GET /v1/reports shows it.
type ReportJSON struct {
	ID        int64  `json:"id"`
	Matched   bool   `json:"matched"`
	MessageID string `json:"messageId,omitempty"` // the outbound message it reports on
	Part      int    `json:"part,omitempty"`      // its part number
	Reference int    `json:"reference"`           // TP-MR; -1 if undecodable
	Recipient string `json:"recipient"`
	Modem     string `json:"modem,omitempty"` // the configured id of the modem that received it
	// Status is TP-ST (-1 if undecodable); Outcome delivered (0x00–0x1F),
	// pending (0x20–0x3F: the SMSC still tries), failed (0x40 and above)
	// or invalid.
	Status        int        `json:"status"`
	StatusText    string     `json:"statusText,omitempty"`
	Outcome       string     `json:"outcome"`
	SCTime        *time.Time `json:"scTime,omitempty"`        // when the SMSC took the reported message
	DischargeTime *time.Time `json:"dischargeTime,omitempty"` // when it was delivered, or failed
	ReceivedAt    time.Time  `json:"receivedAt"`
	Error         string     `json:"error,omitempty"` // why it does not decode
}

func (s *server) listReports(c *fiber.Ctx) error {
	st, err := s.inbox()
	if err != nil {
		return err
	}
	q, err := queryParams(c, "unmatched", "limit")
	if err != nil {
		return err
	}
	unmatched, err := queryBool(q, "unmatched")
	if err != nil {
		return err
	}
	limit, err := queryLimit(q)
	if err != nil {
		return err
	}
	reps, err := st.Reports(c.UserContext(), unmatched, limit)
	if err != nil {
		s.Log.Error("reports: listing failed", "err", err)
		return storeErr(err, "")
	}
	out := make([]ReportJSON, 0, len(reps))
	for _, r := range reps {
		j := ReportJSON{ID: r.ID, Matched: r.Matched, MessageID: r.MessageID, Part: r.Seq, Reference: r.MR, Recipient: r.Recipient, Modem: r.Modem,
			Status: r.Status, StatusText: r.StatusText, Outcome: string(r.Outcome), ReceivedAt: r.ReceivedAt, Error: r.Error}
		if !r.SCTime.IsZero() {
			t := r.SCTime
			j.SCTime = &t
		}
		if !r.DischargeTime.IsZero() {
			t := r.DischargeTime
			j.DischargeTime = &t
		}
		out = append(out, j)
	}
	return c.JSON(fiber.Map{"reports": out})
}
