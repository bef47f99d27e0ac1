// Package submit accepts an outbound message into the durable outbox: it
// validates a request as a client wrote it (recipient, text or data,
// validity, schedule, modem), normalises the recipient, encodes the parts,
// chooses the route (the modems that may send it) and commits it. Every
// way in (POST /v1/messages, the MQTT command topic, the Home Assistant
// notify entity) goes through Submit, so the rules and the answers are
// the same everywhere. The HTTP and MQTT shapes stay with their layers.
package submit

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/phone"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// Request is an outbound message as a client gives it. Field names in
// errors are the JSON names (to, text, dataHex, validity, sendAt,
// validUntil, id, modem).
type Request struct {
	ID           string  // the client's key (idempotency), "" to generate one
	To           string  // the recipient as written: E.164, national, or a short code
	Text         *string // the text, or nil with DataHex
	DataHex      *string // 8-bit data in hex, or nil with Text
	Validity     string  // a duration such as 24h, "" for none
	StatusReport bool
	Flash        bool
	SendAt       string // RFC 3339, "" for now
	ValidUntil   string // RFC 3339, "" for never
	Modem        string // the configured id of the modem that must send it, "" to let the routing choose
}

// Field is what is wrong with one field.
type Field struct {
	Name    string
	Message string
}

// InvalidError lists what is wrong with a request; nothing was stored.
type InvalidError struct {
	Fields []Field
	// Limit is set when a field exceeds a size limit (the text needs more
	// parts than allowed): the limit it exceeds.
	Limit int
}

func (e *InvalidError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Name + ": " + f.Message
	}
	return "invalid message: " + strings.Join(msgs, "; ")
}

// Router chooses the modems that may send a message.
type Router interface {
	// Route returns the configured ids of the modems that may send a
	// message to the normalised recipient to (nil: any modem), or, when
	// modem names one, that modem alone. An unknown modem is an error
	// whose text says so.
	Route(modem, to string) ([]string, error)
	// DefaultCountry is the country code national numbers are read in,
	// for a message pinned to modem ("" for the api's default).
	DefaultCountry(modem string) string
}

// Config configures a Submitter.
type Config struct {
	Store   *store.Store
	Prepare func(modemops.SMS) (*modemops.PreparedSMS, error) // the encoder, modemops.Ops.Prepare
	Router  Router
	// Accepted is called after a new message was committed (to wake the
	// outbox workers).
	Accepted func(*store.Message)
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Submitter accepts messages. It is safe for concurrent use.
type Submitter struct{ cfg Config }

// New returns a Submitter.
func New(cfg Config) *Submitter {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Accepted == nil {
		cfg.Accepted = func(*store.Message) {}
	}
	return &Submitter{cfg: cfg}
}

// ValidClientKey reports whether k may be a client's message id: 1 to 64
// printable ASCII characters without spaces (the store's rule).
func ValidClientKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	return strings.IndexFunc(k, func(r rune) bool { return r <= ' ' || r > '~' }) < 0
}

// ParseValidity validates a relative validity period ("" for none).
func ParseValidity(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, errors.New("want a duration like 30m, 24h or 168h")
	}
	if d < modemops.MinValidity || d > modemops.MaxValidity {
		return 0, errors.New("must be between 5m and 63 weeks (10584h)")
	}
	return d, nil
}

// Submit validates r and commits it to the outbox. It returns the stored
// message and whether it was created now: a request whose ID is already
// stored with the same content returns that message with created=false
// (a client's retry, an MQTT redelivery); with other content it fails with
// store.ErrConflict. A request that is not valid fails with *InvalidError.
func (s *Submitter) Submit(ctx context.Context, r Request) (*store.Message, bool, error) {
	var fields []Field
	bad := func(name, msg string) { fields = append(fields, Field{name, msg}) }
	if r.ID != "" && !ValidClientKey(r.ID) {
		bad("id", "1 to 64 printable ASCII characters without spaces")
	}
	var data []byte
	switch {
	case r.Text != nil && r.DataHex != nil:
		bad("dataHex", "give either text or dataHex, not both")
	case r.DataHex != nil:
		b, err := hex.DecodeString(*r.DataHex)
		if err != nil || len(b) == 0 {
			bad("dataHex", "hex digits, an even number, at least one octet")
		}
		data = b
	case r.Text == nil:
		bad("text", "required (or dataHex)")
	case *r.Text == "":
		bad("text", "must not be empty")
	}
	validity, err := ParseValidity(r.Validity)
	if err != nil {
		bad("validity", err.Error())
	}
	now := s.cfg.Now()
	var sendAt, validUntil time.Time
	if r.SendAt != "" {
		t, err := time.Parse(time.RFC3339Nano, r.SendAt)
		if err != nil {
			bad("sendAt", "an RFC 3339 time like 2025-03-01T12:00:00Z")
		} else if t.After(now) {
			sendAt = t
		}
	}
	if r.ValidUntil != "" {
		t, err := time.Parse(time.RFC3339Nano, r.ValidUntil)
		switch {
		case err != nil:
			bad("validUntil", "an RFC 3339 time like 2025-03-01T12:00:00Z")
		case !t.After(now):
			bad("validUntil", "must be in the future")
		case !sendAt.IsZero() && !t.After(sendAt):
			bad("validUntil", "must be after sendAt")
		default:
			validUntil = t
		}
	}
	if r.Modem != "" && !store.ValidModemName(r.Modem) {
		bad("modem", store.ModemNameRule)
	}
	var to string
	switch {
	case strings.TrimSpace(r.To) == "":
		fields = append([]Field{{"to", "required"}}, fields...)
	default:
		num, err := phone.Normalize(r.To, s.cfg.Router.DefaultCountry(r.Modem))
		if err != nil {
			fields = append([]Field{{"to", strings.TrimPrefix(err.Error(), phone.ErrInvalid.Error()+": ")}}, fields...)
		}
		to = num.Number
	}
	var route []string
	if len(fields) == 0 {
		if route, err = s.cfg.Router.Route(r.Modem, to); err != nil {
			bad("modem", err.Error())
		}
	}
	if len(fields) > 0 {
		return nil, false, &InvalidError{Fields: fields}
	}
	sms := modemops.SMS{To: to, Validity: validity, StatusReport: r.StatusReport, Flash: r.Flash}
	if data != nil {
		sms.Data = data
	} else {
		sms.Text = *r.Text
	}
	p, err := s.cfg.Prepare(sms)
	if err != nil {
		var fe *modemops.FieldError
		if errors.As(err, &fe) {
			return nil, false, &InvalidError{Fields: []Field{{fe.Field, fe.Message}}, Limit: fe.Limit}
		}
		return nil, false, fmt.Errorf("encoding the message: %w", err)
	}
	req := store.OutboundRequest{ID: r.ID, To: to, Parts: p.PDUs, Modem: r.Modem, Route: route,
		Options: store.SendOptions{Validity: validity, StatusReport: r.StatusReport, Flash: r.Flash, SendAt: sendAt, ValidUntil: validUntil}}
	if data != nil {
		req.DataHex = strings.ToUpper(*r.DataHex)
	} else {
		req.Text = *r.Text
	}
	m, created, err := s.cfg.Store.AcceptOutbound(ctx, req)
	if err != nil {
		return nil, false, err
	}
	if created {
		s.cfg.Accepted(m)
	}
	return m, created, nil
}
