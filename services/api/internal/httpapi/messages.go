package httpapi

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/phone"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/outbox"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/submit"
)

// ---- /v1/messages: the durable outbox and the listing of both directions

// messageRoutes registers /v1/messages (user role).
func (s *server) messageRoutes(app *fiber.App, user fiber.Handler) {
	app.Post("/v1/messages", user, s.postMessage)
	app.Get("/v1/messages", user, s.listMessages)
	app.Get("/v1/messages/:id", user, s.getMessage)
	app.Delete("/v1/messages/:id", user, s.deleteMessage)
}

// messageRequest is the body of POST /v1/messages.
type messageRequest struct {
	ID           string  `json:"id"`
	To           string  `json:"to"`
	Text         *string `json:"text"`
	DataHex      *string `json:"dataHex"`
	Validity     string  `json:"validity"`
	StatusReport bool    `json:"statusReport"`
	Flash        bool    `json:"flash"`
	SendAt       string  `json:"sendAt"`
	ValidUntil   string  `json:"validUntil"`
	Modem        string  `json:"modem"` // the configured id of the modem that must send it; "" lets the routing choose
}

// MessagePart is one outbound part in a message answer.
type MessagePart struct {
	Seq       int        `json:"seq"`
	State     string     `json:"state"`
	Reference *int       `json:"reference,omitempty"` // TP-MR once sent (absent if unknown)
	Attempts  int        `json:"attempts"`
	Error     string     `json:"error,omitempty"`
	Status    *int       `json:"status,omitempty"` // TP-ST of the last status report
	SentAt    *time.Time `json:"sentAt,omitempty"`
	UpdatedAt time.Time  `json:"updatedAt"`
}

// MessageTransition is one recorded state change (seq 0: the message).
type MessageTransition struct {
	Seq    int       `json:"seq"`
	State  string    `json:"state"`
	Detail string    `json:"detail,omitempty"`
	At     time.Time `json:"at"`
}

// MessageResponse is a stored message of either direction.
type MessageResponse struct {
	ID           string              `json:"id"`
	Direction    string              `json:"direction"`
	To           string              `json:"to,omitempty"`
	From         string              `json:"from,omitempty"`
	Text         string              `json:"text,omitempty"`
	DataHex      string              `json:"dataHex,omitempty"`
	State        string              `json:"state"`
	Reason       string              `json:"reason,omitempty"`
	Modem        string              `json:"modem,omitempty"` // the modem that sends or sent it, or received it
	Route        []string            `json:"route,omitempty"` // outbound: the modems that may send it (absent: any)
	PartCount    int                 `json:"partCount"`
	Validity     string              `json:"validity,omitempty"`
	StatusReport bool                `json:"statusReport"`
	Flash        bool                `json:"flash"`
	SendAt       *time.Time          `json:"sendAt,omitempty"`
	ValidUntil   *time.Time          `json:"validUntil,omitempty"`
	CreatedAt    time.Time           `json:"createdAt"`
	UpdatedAt    time.Time           `json:"updatedAt"`
	FinishedAt   *time.Time          `json:"finishedAt,omitempty"`
	SMSC         string              `json:"smsc,omitempty"`
	SCTime       *time.Time          `json:"scTime,omitempty"`
	Read         *bool               `json:"read,omitempty"`
	Missing      []int               `json:"missing,omitempty"`
	Parts        []MessagePart       `json:"parts,omitempty"`
	History      []MessageTransition `json:"history,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func messageView(m *store.Message, history []store.Transition) MessageResponse {
	r := MessageResponse{ID: m.ID, Direction: string(m.Direction), Text: m.Text, DataHex: m.DataHex, State: string(m.State),
		Reason: m.Reason, PartCount: m.PartCount, StatusReport: m.Options.StatusReport, Flash: m.Options.Flash,
		SendAt: optTime(m.Options.SendAt), ValidUntil: optTime(m.Options.ValidUntil), CreatedAt: m.CreatedAt.UTC(),
		UpdatedAt: m.UpdatedAt.UTC(), FinishedAt: optTime(m.FinishedAt), Missing: m.Missing, Modem: m.Modem, Route: m.Route}
	if m.Options.Validity > 0 {
		r.Validity = m.Options.Validity.String()
	}
	if m.Direction == store.Out {
		r.To = m.Peer
	} else {
		r.From, r.SMSC = m.Peer, m.SMSC
		if !m.SCTime.IsZero() {
			t := m.SCTime
			r.SCTime = &t
		}
		read := m.Read
		r.Read = &read
	}
	for _, p := range m.Parts {
		mp := MessagePart{Seq: p.Seq, State: string(p.State), Attempts: p.Attempts, Error: p.Error,
			SentAt: optTime(p.SentAt), UpdatedAt: p.UpdatedAt.UTC()}
		if p.MR != store.NoMR {
			mr := p.MR
			mp.Reference = &mr
		}
		if p.Status >= 0 {
			st := p.Status
			mp.Status = &st
		}
		r.Parts = append(r.Parts, mp)
	}
	for _, h := range history {
		r.History = append(r.History, MessageTransition{Seq: h.Seq, State: h.State, Detail: h.Detail, At: h.At.UTC()})
	}
	return r
}

// storeErr maps a store error to HTTP.
func messageStoreErr(err error) *Error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: fiber.StatusNotFound, Code: "not_found", Message: "no message with this id"}
	case errors.Is(err, store.ErrConflict):
		return &Error{Status: fiber.StatusConflict, Code: "conflict", Message: "id: already used by a message with a different body",
			Fields: []FieldMessage{{"id", "already used by a message with a different body"}}}
	case errors.Is(err, store.ErrNotCancellable):
		return &Error{Status: fiber.StatusConflict, Code: "not_cancellable", Message: err.Error()}
	case errors.Is(err, store.ErrBadCursor):
		return badRequest("cursor: not a cursor of this listing", FieldMessage{"cursor", "not a cursor of this listing"})
	case errors.Is(err, store.ErrInvalid):
		return invalid(FieldMessage{"(body)", err.Error()})
	}
	return &Error{Status: fiber.StatusInternalServerError, Code: "internal", Message: "message store: " + err.Error()}
}

// parseValidity validates a relative validity period.
func parseValidity(field, v string) (time.Duration, *FieldMessage) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, &FieldMessage{field, "want a duration like 30m, 24h or 168h"}
	}
	if d < modemops.MinValidity || d > modemops.MaxValidity {
		return 0, &FieldMessage{field, "must be between 5m and 63 weeks (10584h)"}
	}
	return d, nil
}

func (s *server) postMessage(c *fiber.Ctx) error {
	var req messageRequest
	if err := decodeStrict(c, &req); err != nil {
		return err
	}
	if key := strings.TrimSpace(c.Get("Idempotency-Key")); key != "" {
		if req.ID != "" && key != req.ID {
			return invalid(FieldMessage{"id", "differs from the Idempotency-Key header"})
		}
		req.ID = key
	}
	m, created, err := s.Submit.Submit(c.UserContext(), submit.Request{ID: req.ID, To: req.To, Text: req.Text, DataHex: req.DataHex,
		Validity: req.Validity, StatusReport: req.StatusReport, Flash: req.Flash, SendAt: req.SendAt, ValidUntil: req.ValidUntil,
		Modem: req.Modem})
	if err != nil {
		return submitErr(err)
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusAccepted
	}
	return c.Status(status).JSON(messageView(m, nil))
}

// submitErr maps an error of submit.Submit to HTTP.
func submitErr(err error) error {
	var ie *submit.InvalidError
	if !errors.As(err, &ie) {
		return messageStoreErr(err)
	}
	fields := make([]FieldMessage, len(ie.Fields))
	for i, f := range ie.Fields {
		fields[i] = FieldMessage{f.Name, f.Message}
	}
	if ie.Limit > 0 && len(fields) == 1 {
		return overLimit(fields[0].Field, fields[0].Message, ie.Limit)
	}
	return invalid(fields...)
}

// recipient normalises a recipient, or says what is wrong with it.
func (s *server) recipient(field, to string) (string, *FieldMessage) {
	if strings.TrimSpace(to) == "" {
		return "", &FieldMessage{field, "required"}
	}
	num, err := phone.Normalize(to, s.DefaultCountry)
	if err != nil {
		return "", &FieldMessage{field, strings.TrimPrefix(err.Error(), phone.ErrInvalid.Error()+": ")}
	}
	return num.Number, nil
}

func (s *server) getMessage(c *fiber.Ctx) error {
	id := c.Params("id")
	m, err := s.Store.Get(c.UserContext(), id)
	if err != nil {
		return messageStoreErr(err)
	}
	h, err := s.Store.History(c.UserContext(), id)
	if err != nil {
		return messageStoreErr(err)
	}
	return c.JSON(messageView(m, h))
}

// MessageList is the answer of GET /v1/messages.
type MessageList struct {
	Messages []MessageResponse `json:"messages"`
	// Next is the cursor of the next page; absent on the last one.
	Next string `json:"next,omitempty"`
}

var knownStates = map[string]bool{}

func init() {
	for _, st := range []store.State{store.StateQueued, store.StateSending, store.StateSent, store.StateDelivered, store.StateFailed,
		store.StateExpired, store.StateCancelled, store.StateReceived, store.StateIncomplete, store.StateUndecodable} {
		knownStates[string(st)] = true
	}
}

func (s *server) listMessages(c *fiber.Ctx) error {
	var f store.Filter
	var fields []FieldMessage
	switch d := c.Query("direction"); d {
	case "":
	case "out", "in":
		f.Direction = store.Direction(d)
	default:
		fields = append(fields, FieldMessage{"direction", "out or in"})
	}
	if v := c.Query("state"); v != "" {
		for st := range strings.SplitSeq(v, ",") {
			if !knownStates[st] {
				fields = append(fields, FieldMessage{"state", fmt.Sprintf("%q is not a state (queued, sending, sent, delivered, failed, expired, cancelled, received, incomplete, undecodable)", st)})
				break
			}
			f.States = append(f.States, store.State(st))
		}
	}
	if v := c.Query("since"); v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			fields = append(fields, FieldMessage{"since", "an RFC 3339 time like 2025-03-01T12:00:00Z"})
		}
		f.Since = t
	}
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxLimit {
			fields = append(fields, FieldMessage{"limit", fmt.Sprintf("a whole number from 1 to %d", store.MaxLimit)})
		}
		f.Limit = n
	}
	f.Cursor = c.Query("cursor")
	if len(fields) > 0 {
		return &Error{Status: fiber.StatusBadRequest, Code: "bad_request", Message: fields[0].Field + ": " + fields[0].Message, Fields: fields}
	}
	page, err := s.Store.List(c.UserContext(), f)
	if err != nil {
		return messageStoreErr(err)
	}
	out := MessageList{Messages: make([]MessageResponse, 0, len(page.Messages)), Next: page.Next}
	for _, m := range page.Messages {
		out.Messages = append(out.Messages, messageView(m, nil))
	}
	return c.JSON(out)
}

func (s *server) deleteMessage(c *fiber.Ctx) error {
	m, err := s.Store.Cancel(c.UserContext(), c.Params("id"))
	if err != nil {
		return messageStoreErr(err)
	}
	s.Outbox.Changed()
	return c.JSON(messageView(m, nil))
}

// ---- the synchronous sends (/v1/sms, /sms) through the outbox

// sendAndWait stores the prepared message (a new id "sms_…"), wakes the
// outbox and waits for its outcome within the request's budget. With the
// modem not ready (no relay session, the SIM locked) it refuses before
// storing anything, as the synchronous endpoints always did.
//
// With the default modem driven by another instance (Modem.Owner) the
// send is not forwarded: the readiness is that instance's (its GET
// /v1/modems/{id}, asked with the caller's key v), the message goes into
// the shared store, whose owner's outbox worker sends it, and the wait
// follows the store's commits (waitStored). So a send outlives a change
// of owner while it waits; only the owner knows the AT exchanges and the
// modem's error, so the answer has neither.
func (s *server) sendAndWait(v viewer, p *modemops.PreparedSMS, to, text string, validity time.Duration, sr, flash bool) (outbox.Outcome, error) {
	o, remote := s.owner(s.Modems[0])
	if err := s.sendable(v, o, remote); err != nil {
		return outbox.Outcome{}, err
	}
	p.ID = newID("sms_")
	// The commit is not bounded by the wait's budget: a message is either
	// refused before it is stored or stored and then waited for, so a
	// short budget answers 504 sms_in_progress with a stored message,
	// never a failure for a message that may still be committed.
	// Pinned to the default modem, whose worker this request waits on.
	def := s.Modems[0].ID
	m, _, err := s.Store.AcceptOutbound(context.Background(), store.OutboundRequest{ID: p.ID, To: to, Text: text, Parts: p.PDUs,
		Modem: def, Route: []string{def}, Options: store.SendOptions{Validity: validity, StatusReport: sr, Flash: flash}})
	if err != nil {
		return outbox.Outcome{}, messageStoreErr(err)
	}
	s.Outbox.Kick()
	ctx, cancel := context.WithTimeout(context.Background(), s.smsBudget(p))
	defer cancel()
	wait := s.Outbox.Wait
	if remote {
		wait = s.waitStored
	}
	out, err := wait(ctx, m.ID)
	if out.Message == nil {
		out.Message = m
	}
	return out, err
}

// sendable refuses a synchronous send that the default modem would not
// attempt now: its relay session is not ready or its SIM is locked, as
// this instance sees it, or, when another instance drives it (remote),
// as that one does; no instance drives it; that one does not answer.
func (s *server) sendable(v viewer, o Owner, remote bool) *Error {
	relayOK, why, snap := true, "", (*poller.Snapshot)(nil)
	if !remote {
		relayOK, why = s.Ready()
		snap = s.Snapshot()
	} else {
		def := s.Modems[0]
		if !o.Known {
			return noOwner(def)
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.shortTimeout())
		defer cancel()
		view, err := s.ownerView(ctx, def, o, v.auth)
		if err != nil {
			return unreachable(def, o, err)
		}
		relayOK, why, snap = view.Status.Relay.Ready, view.Status.Relay.Reason, view.Status.Snapshot
	}
	if !relayOK {
		return &Error{Status: fiber.StatusServiceUnavailable, Code: "modem_unavailable", Message: "the modem is not reachable: " + why}
	}
	if snap != nil && snap.Reachable {
		switch snap.Status.SIM {
		case "pin", "puk", "absent":
			return &Error{Status: fiber.StatusConflict, Code: "sim_not_ready", Message: "the SIM is not ready: " + snap.Status.SIM}
		}
	}
	return nil
}

// waitStored waits until the message is no longer queued or sending, as
// the store shows it: it re-reads it after every commit (of any instance
// on the database: store.EventsChanged). It returns ctx's error (and the
// message as it is) when ctx ends first.
func (s *server) waitStored(ctx context.Context, id string) (outbox.Outcome, error) {
	for {
		changed := s.Store.EventsChanged()
		m, err := s.Store.Get(ctx, id)
		if err != nil {
			return outbox.Outcome{}, err
		}
		if m.State.Final() {
			return outbox.Outcome{Message: m}, nil
		}
		select {
		case <-ctx.Done():
			return outbox.Outcome{Message: m}, ctx.Err()
		case <-changed:
		}
	}
}

// smsParts are the parts of a stored message in the shape of the
// synchronous answers.
func smsParts(m *store.Message) []modemops.Part {
	parts := make([]modemops.Part, len(m.Parts))
	stopped := false
	for i, p := range m.Parts {
		st := modemops.PartPending
		switch p.State {
		case store.PartSent, store.PartDelivered:
			st = modemops.PartSent
		case store.PartFailed:
			st, stopped = modemops.PartFailed, true
		case store.PartUnknown:
			st, stopped = modemops.PartUnknown, true
		default:
			if stopped || m.State == store.StateFailed {
				st = modemops.PartNotAttempted
			}
		}
		parts[i] = modemops.Part{Seq: p.Seq, State: st, Reference: p.MR}
	}
	return parts
}

// outcomeErr is the error answer of a synchronous send that did not end
// sent, or nil. A wait that ended while the message is still in the
// outbox is 504 sms_in_progress: it is stored and will be sent.
func outcomeErr(o outbox.Outcome, waitErr error) *Error {
	m := o.Message
	var e *Error
	if errors.As(waitErr, &e) {
		return e
	}
	parts := smsParts(m)
	switch {
	case waitErr != nil:
		return &Error{Status: fiber.StatusGatewayTimeout, Code: "sms_in_progress",
			Message: fmt.Sprintf("message %s: the request's time ran out while it was being sent (%d of %d parts sent so far); "+
				"it is stored and will be sent: do not resend it (GET /v1/messages/%s shows its state)", m.ID, len(modemops.SentParts(parts)), len(parts), m.ID),
			ID: m.ID, Parts: parts, SentParts: modemops.SentParts(parts)}
	case m.State == store.StateSent || m.State == store.StateDelivered:
		return nil
	}
	for _, p := range parts {
		if p.State == modemops.PartUnknown {
			return &Error{Status: fiber.StatusGatewayTimeout, Code: "sms_outcome_unknown", Message: "message " + m.ID + ": " + m.Reason,
				ID: m.ID, Parts: parts, SentParts: modemops.SentParts(parts)}
		}
	}
	if o.Cause != nil {
		e = modemErr(o.Cause)
		e.Message = "message " + m.ID + ": " + m.Reason
	} else {
		e = &Error{Status: fiber.StatusBadGateway, Code: "modem_error", Message: "message " + m.ID + " " + string(m.State) + ": " + m.Reason}
	}
	e.ID, e.Parts, e.SentParts = m.ID, parts, modemops.SentParts(parts)
	return e
}
