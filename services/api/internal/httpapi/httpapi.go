// Package httpapi is the api's HTTP interface (fiber): authentication by
// bearer keys, strict JSON bodies with a size limit, the versioned /v1
// endpoints, the original REST server's endpoints at their paths and with
// their shapes, health, readiness, metrics and the OpenAPI document. Every
// modem operation is a scheduler job.
package httpapi

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/phone"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
	"github.com/sim-modem-api/sim-modem-api/modem/scheduler"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/apikeys"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/metrics"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/outbox"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/submit"
)

//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the embedded OpenAPI 3 document.
func OpenAPI() []byte { return openAPI }

// Deps are what the handlers use.
type Deps struct {
	Sched    *scheduler.Scheduler[modemops.AT]
	Ops      *modemops.Ops
	Snapshot func() *poller.Snapshot
	Refresh  func()                // re-read status and identity (after a PIN entry)
	Ready    func() (bool, string) // the relay session's readiness
	Keys     *apikeys.Store
	Metrics  *metrics.Metrics // nil: no metrics
	// ModemMetrics is the modem's instruments (queue rejections, SMS
	// results); nil: none.
	ModemMetrics *metrics.Modem
	Log          *slog.Logger

	// Inbox serves GET /v1/inbox and /v1/reports (the message store);
	// nil answers them with 503.
	Inbox InboxStore

	// Events serves GET /v1/events and /v1/webhooks (the message store's
	// event log and webhooks); nil answers them with 503.
	Events EventStore
	// WebhooksChanged is called after a webhook was created or deleted
	// (the webhook manager's Reload).
	WebhooksChanged func()
	// MaxStreams bounds the open event streams (DefaultMaxStreams); one
	// more is refused with 503. KeepAlive is the period of the keep-alive
	// comment (DefaultKeepAlive).
	MaxStreams int
	KeepAlive  time.Duration
	// StreamStop ends every event stream when it is done (at shutdown:
	// the server waits for open connections). nil: never.
	StreamStop context.Context
	// SnapshotChanged is closed when the status snapshot is next refreshed
	// (poller.Changed): the event stream's live modem.status; nil: none.
	SnapshotChanged func() <-chan struct{}
	// OnStreams is called with the number of open event streams when it
	// changes (a metric).
	OnStreams func(n int)
	// Store and Outbox serve /v1/messages and the sends of /v1/sms and
	// /sms (stored, then sent by the outbox worker of the default modem).
	Store  *store.Store
	Outbox *outbox.Worker
	// Submit accepts POST /v1/messages (validation, routing, commit).
	Submit *submit.Submitter

	// Modems are every modem, the default (the one of Sched, Ops, …)
	// first: GET /v1/modems and the routes under /v1/modems/{id}/. Nil:
	// the default modem alone, with the id DefaultModemID.
	Modems []*Modem

	// Instance is this instance's name (API_INSTANCE) with several
	// instances on one database: the value of ForwardedHeader on the
	// requests it forwards to a modem's owner (see Modem.Owner).
	Instance string

	DefaultCountry       string
	BodyLimit            int
	RequestTimeout       time.Duration
	Pacing               time.Duration
	CommandTimeout       time.Duration
	SMSTimeout           time.Duration
	USSDTimeout          time.Duration
	Sentinel             string
	OriginalStatusReport bool
}

// DefaultModemID is the id of the default modem when Deps.Modems is nil.
const DefaultModemID = "modem"

// Modem is one modem for the handlers: the routes under /v1/modems/{id}/
// act on it as the single-modem routes act on the default one.
type Modem struct {
	ID       string
	Relay    string // the relay's address, as configured
	Sched    *scheduler.Scheduler[modemops.AT]
	Ops      *modemops.Ops
	Snapshot func() *poller.Snapshot
	Refresh  func()
	Ready    func() (bool, string)
	Metrics  *metrics.Modem // nil: none
	// Eligible says why the modem may not take a new message now ("" if
	// it may: connected, registered, SIM ready); nil: always.
	Eligible func() string
	// Depth is its outbox depth (store.ModemDepth); nil: unknown.
	Depth func(ctx context.Context) (int, error)
	// Owner says which instance drives the modem now (holds its lease),
	// with several instances on one database: the requests that operate
	// on it are forwarded there when it is another one, and GET
	// /v1/modems shows it (forward.go). It is called per request, with a
	// short deadline. Nil: a single instance, which drives every modem;
	// nothing is forwarded and no owner is shown.
	Owner func(ctx context.Context) Owner
}

type server struct {
	Deps
	streams       *atomic.Int64 // open event streams
	modems        map[string]*Modem
	forwardClient *http.Client // to a modem's owner (forward.go)
}

// on is the server as it acts on modem m: the handlers of the
// single-modem routes, run for /v1/modems/{id}/….
func (s *server) on(m *Modem) *server {
	cp := *s
	cp.Sched, cp.Ops, cp.Snapshot, cp.Ready, cp.ModemMetrics = m.Sched, m.Ops, m.Snapshot, m.Ready, m.Metrics
	if m.Refresh != nil {
		cp.Refresh = m.Refresh
	}
	return &cp
}

// perModem runs h on the modem the path names ({id}): 404 for none.
func (s *server) perModem(h func(*server, *fiber.Ctx) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		m, ok := s.modems[c.Params("id")]
		if !ok {
			return &Error{Status: fiber.StatusNotFound, Code: "not_found", Message: "no modem " + strconv.Quote(c.Params("id"))}
		}
		return h(s.on(m), c)
	}
}

// New returns the fiber app.
func New(d Deps) *fiber.App {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.BodyLimit <= 0 {
		d.BodyLimit = 64 << 10
	}
	if d.RequestTimeout <= 0 {
		d.RequestTimeout = 30 * time.Second
	}
	if d.Refresh == nil {
		d.Refresh = func() {}
	}
	if d.Modems == nil {
		d.Modems = []*Modem{{ID: DefaultModemID, Sched: d.Sched, Ops: d.Ops, Snapshot: d.Snapshot, Refresh: d.Refresh, Ready: d.Ready,
			Metrics: d.ModemMetrics}}
	}
	s := &server{Deps: d, streams: new(atomic.Int64), modems: map[string]*Modem{}}
	for _, m := range d.Modems {
		s.modems[m.ID] = m
	}
	s.forwardClient = s.newForwardClient()
	app := fiber.New(fiber.Config{
		AppName:               "sim-modem-api",
		BodyLimit:             d.BodyLimit,
		DisableStartupMessage: true,
		ErrorHandler:          s.errorHandler,
		ReadTimeout:           30 * time.Second,
		IdleTimeout:           120 * time.Second,
	})
	app.Use(s.observe)
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	app.Get("/readyz", s.readyz)
	app.Get("/openapi.json", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Send(openAPI)
	})
	user, admin := s.auth(apikeys.User), s.auth(apikeys.Admin)
	if d.Metrics != nil {
		// The metrics name the modem (its IMEI): on the API port only with
		// a key; Prometheus scrapes the metrics listener (API_METRICS_LISTEN).
		app.Get("/metrics", user, adaptor.HTTPHandler(d.Metrics.Handler()))
	}
	s.messageRoutes(app, user)
	// The routes that talk to a modem go to the instance that drives it
	// (fwd, fwdID: forward.go). The sends of /v1/sms and /sms do not:
	// they go through the shared outbox (sendAndWait).
	fwd, fwdID, fwdOrig := s.forwardDefault, s.forwardModem, s.forwardOriginal
	app.Post("/v1/sms", user, s.sendSMS)
	app.Get("/v1/modem/status", user, fwd, s.status)
	app.Post("/v1/ussd", user, fwd, s.ussd)
	app.Post("/v1/sim/pin", admin, fwd, s.pin)
	app.Post("/v1/at", admin, fwd, s.rawAT)
	app.Get("/v1/modems", user, s.listModems)
	app.Get("/v1/modems/:id", user, s.getModem)
	app.Get("/v1/modems/:id/status", user, fwdID, s.perModem((*server).status))
	app.Post("/v1/modems/:id/ussd", user, fwdID, s.perModem((*server).ussd))
	app.Post("/v1/modems/:id/sim/pin", admin, fwdID, s.perModem((*server).pin))
	app.Post("/v1/modems/:id/at", admin, fwdID, s.perModem((*server).rawAT))
	s.inboxRoutes(app, user)
	s.eventRoutes(app, user, admin)

	// The original REST server's endpoints.
	app.Post("/sms", user, s.origSMS)
	app.Get("/info/signal-quality", user, fwdOrig, s.origInfo("+CSQ"))
	app.Get("/info/subscriber-number", user, fwdOrig, s.origInfo("+CNUM"))
	app.Get("/info/selected-character-set", user, fwdOrig, s.origInfo("+CSCS?"))
	app.Get("/info/selectable-character-sets", user, fwdOrig, s.origInfo("+CSCS=?"))
	app.Post("/custom-command", admin, fwdOrig, s.origCustom)

	// The web console at / (package console).
	if err := s.consoleRoutes(app, user); err != nil {
		panic("httpapi: the embedded console: " + err.Error()) // the binary's own files
	}
	return app
}

func (s *server) observe(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := c.App().ErrorHandler(c, err); herr != nil {
			c.Status(fiber.StatusInternalServerError)
		}
	}
	if s.Metrics != nil {
		route := c.Route().Path
		if c.Response().StatusCode() == fiber.StatusNotFound && route == "/" {
			route = "unmatched"
		}
		s.Metrics.HTTP(route, c.Response().StatusCode(), time.Since(start))
	}
	return nil
}

func (s *server) auth(need apikeys.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := c.Get(fiber.HeaderAuthorization)
		k, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return &Error{Status: fiber.StatusUnauthorized, Code: "unauthorized", Message: "send Authorization: Bearer <key>"}
		}
		role := s.Keys.Check(strings.TrimSpace(k))
		switch {
		case role == apikeys.None:
			return &Error{Status: fiber.StatusUnauthorized, Code: "unauthorized", Message: "unknown API key"}
		case role < need:
			return &Error{Status: fiber.StatusForbidden, Code: "forbidden", Message: "this endpoint needs an admin key"}
		}
		c.Locals(roleKey, role)
		return c.Next()
	}
}

// do runs fn as a modem job, waiting at most budget.
func (s *server) do(budget time.Duration, fn scheduler.Job[modemops.AT]) error {
	return s.doClass(scheduler.Operation, budget, fn)
}

// doClass runs fn as a modem job of class c, waiting at most budget.
func (s *server) doClass(c scheduler.Class, budget time.Duration, fn scheduler.Job[modemops.AT]) error {
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	err := s.Sched.DoClass(ctx, c, fn)
	if errors.Is(err, scheduler.ErrQueueFull) && s.ModemMetrics != nil {
		s.ModemMetrics.QueueRejected.WithLabelValues(c.String()).Inc()
	}
	return err
}

func newID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// ---- /v1/sms

type smsRequest struct {
	To           string  `json:"to"`
	Text         *string `json:"text"`
	Validity     string  `json:"validity"`
	StatusReport bool    `json:"statusReport"`
	Flash        bool    `json:"flash"`
}

func (s *server) prepareSMS(toField, to, textField string, text *string, validity time.Duration, validityErr *FieldMessage, sr, flash bool) (*modemops.PreparedSMS, string, error) {
	var fields []FieldMessage
	var num phone.Number
	if strings.TrimSpace(to) == "" {
		fields = append(fields, FieldMessage{toField, "required"})
	} else {
		var err error
		if num, err = phone.Normalize(to, s.DefaultCountry); err != nil {
			fields = append(fields, FieldMessage{toField, strings.TrimPrefix(err.Error(), phone.ErrInvalid.Error()+": ")})
		}
	}
	if text == nil {
		fields = append(fields, FieldMessage{textField, "required"})
	}
	if validityErr != nil {
		fields = append(fields, *validityErr)
	}
	if len(fields) > 0 {
		return nil, "", invalid(fields...)
	}
	p, err := s.Ops.Prepare(modemops.SMS{To: num.Number, Text: *text, Validity: validity, StatusReport: sr, Flash: flash})
	if err != nil {
		var fe *modemops.FieldError
		if errors.As(err, &fe) {
			f := fe.Field
			if f == "to" {
				f = toField
			} else if f == "text" {
				f = textField
			}
			if fe.Limit > 0 {
				return nil, "", overLimit(f, fe.Message, fe.Limit)
			}
			return nil, "", invalid(FieldMessage{f, fe.Message})
		}
		return nil, "", err
	}
	return p, num.Number, nil
}

func (s *server) smsBudget(p *modemops.PreparedSMS) time.Duration {
	return s.RequestTimeout + time.Duration(len(p.PDUs))*(s.Pacing+s.SMSTimeout+s.CommandTimeout)
}

// ---- /v1/ussd

type ussdRequest struct {
	Code string `json:"code"`
}

func (s *server) ussd(c *fiber.Ctx) error {
	var req ussdRequest
	if err := decodeStrict(c, &req); err != nil {
		return err
	}
	if err := modemops.ValidUSSD(req.Code); err != nil {
		return modemErr(err)
	}
	var res modemops.USSDResult
	err := s.do(s.RequestTimeout+s.USSDTimeout, func(ctx context.Context, e modemops.AT) error {
		var err error
		res, err = s.Ops.USSD(ctx, e, req.Code)
		return err
	})
	if err != nil {
		return modemErr(err)
	}
	return c.JSON(res)
}

// ---- /v1/sim/pin

type pinRequest struct {
	PIN string `json:"pin"`
	PUK string `json:"puk"`
}

func (s *server) pin(c *fiber.Ctx) error {
	var req pinRequest
	if err := decodeStrict(c, &req); err != nil {
		return err
	}
	if err := modemops.ValidPIN(req.PIN, req.PUK); err != nil {
		return modemErr(err)
	}
	var state string
	err := s.do(s.RequestTimeout, func(ctx context.Context, e modemops.AT) error {
		var err error
		state, err = s.Ops.EnterPIN(ctx, e, req.PIN, req.PUK)
		return err
	})
	s.Refresh()
	if err != nil {
		e := modemErr(err)
		if e.Modem != nil && e.Modem.Type == "cme" && e.Modem.Code == 16 {
			e.Status, e.Code = fiber.StatusUnprocessableEntity, "incorrect_pin"
			e.Fields = []FieldMessage{{"pin", "incorrect (the SIM counts the attempt)"}}
		}
		return e
	}
	return c.JSON(fiber.Map{"sim": state})
}

// ---- /v1/at

type atRequest struct {
	Command   string `json:"command"`
	Hex       string `json:"hex"`
	TimeoutMs int    `json:"timeoutMs"`
}

// ATResponse is the answer of POST /v1/at.
type ATResponse struct {
	Final      string              `json:"final"`
	Transcript []modemops.Exchange `json:"transcript"`
}

func (s *server) parseRaw(command, hexBytes string, timeoutMs int, cmdField, hexField string) (modemops.RawCommand, time.Duration, error) {
	var rc modemops.RawCommand
	var err error
	switch {
	case command != "" && hexBytes != "":
		return rc, 0, invalid(FieldMessage{cmdField, "give either " + cmdField + " or " + hexField + ", not both"})
	case hexBytes != "":
		rc, err = modemops.ParseHex(hexBytes, s.Sentinel)
	case command != "":
		rc, err = modemops.ParseReadable(command, s.Sentinel)
	default:
		return rc, 0, invalid(FieldMessage{cmdField, "required (or " + hexField + ")"})
	}
	if err != nil {
		var fe *modemops.FieldError
		var re *modemops.RefusedError
		switch {
		case errors.As(err, &re):
			f := cmdField
			if re.Field == "hex" {
				f = hexField
			}
			msg := "AT" + re.Command + " refused: " + re.Reason
			return rc, 0, &Error{Status: fiber.StatusBadRequest, Code: "command_refused", Message: f + ": " + msg, Fields: []FieldMessage{{f, msg}}}
		case errors.As(err, &fe):
			f := cmdField
			if fe.Field == "hex" {
				f = hexField
			}
			return rc, 0, invalid(FieldMessage{f, fe.Message})
		}
		return rc, 0, err
	}
	if timeoutMs < 0 || time.Duration(timeoutMs)*time.Millisecond > maxRawTimeout {
		return rc, 0, invalid(FieldMessage{"timeoutMs", "must be between 1 and 120000 (0: the default)"})
	}
	return rc, time.Duration(timeoutMs) * time.Millisecond, nil
}

func (s *server) runRaw(rc modemops.RawCommand, timeout time.Duration) (modemops.Exchange, error) {
	var x modemops.Exchange
	var modemErr error
	err := s.do(s.RequestTimeout+timeout+s.SMSTimeout, func(ctx context.Context, e modemops.AT) error {
		x, modemErr = s.Ops.Raw(ctx, e, rc, timeout)
		return nil
	})
	// A raw command may have changed what the status shows (AT+CFUN=0,
	// the SIM's PIN): read it again now rather than at the next poll.
	s.Refresh()
	if err != nil {
		return x, err
	}
	return x, modemErr
}

func (s *server) rawAT(c *fiber.Ctx) error {
	var req atRequest
	if err := decodeStrict(c, &req); err != nil {
		return err
	}
	rc, timeout, err := s.parseRaw(req.Command, req.Hex, req.TimeoutMs, "command", "hex")
	if err != nil {
		return err
	}
	x, err := s.runRaw(rc, timeout)
	if f := modemops.FinalText(err); f == "TIMEOUT" || f == "UNAVAILABLE" {
		e := modemErr(err)
		if x.Command != "" {
			return c.Status(e.Status).JSON(fiber.Map{"code": e.Code, "error": e.Message, "final": x.Final, "transcript": []modemops.Exchange{x}})
		}
		return e
	}
	return c.JSON(ATResponse{Final: x.Final, Transcript: []modemops.Exchange{x}})
}
