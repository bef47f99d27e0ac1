package httpapi

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// EventStore is what the event stream and the webhook endpoints use of
// the message store (*store.Store).
type EventStore interface {
	Events(ctx context.Context, after int64, patterns []string, limit int) ([]store.Event, error)
	LastEventSeq(ctx context.Context) (int64, error)
	EventsChanged() <-chan struct{}
	CreateWebhook(ctx context.Context, r store.WebhookRequest) (*store.Webhook, error)
	Webhooks(ctx context.Context) ([]*store.Webhook, error)
	GetWebhook(ctx context.Context, id string) (*store.Webhook, error)
	DeleteWebhook(ctx context.Context, id string) error
	WebhookDeadEvents(ctx context.Context, id string, limit int) ([]store.DeadEvent, error)
}

var _ EventStore = (*store.Store)(nil)

// eventRoutes registers the event stream (user role) and the webhooks
// (admin role: a webhook sends the events wherever its URL points).
func (s *server) eventRoutes(app *fiber.App, user, admin fiber.Handler) {
	app.Get("/v1/events", user, s.eventStream)
	app.Post("/v1/webhooks", admin, s.createWebhook)
	app.Get("/v1/webhooks", admin, s.listWebhooks)
	app.Get("/v1/webhooks/:id", admin, s.getWebhook)
	app.Delete("/v1/webhooks/:id", admin, s.deleteWebhook)
}

func (s *server) events() (EventStore, error) {
	if s.Events == nil {
		return nil, &Error{Status: fiber.StatusServiceUnavailable, Code: "store_unavailable", Message: "the message store is not open"}
	}
	return s.Events, nil
}

// WebhookView is a webhook as the api shows it. Secret is shown once, in
// the answer to its creation.
type WebhookView struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Events         []string `json:"events"` // the event types (patterns) it receives; ["*"] for all
	Secret         string   `json:"secret,omitempty"`
	Source         string   `json:"source"` // api, or env (API_WEBHOOK_URL)
	State          string   `json:"state"`  // active, failing (its head event is being retried), disabled
	DisabledReason string   `json:"disabledReason,omitempty"`
	// Backlog is the number of events it has yet to receive.
	Backlog       int64      `json:"backlog"`
	Delivered     int64      `json:"delivered"`
	Dead          int64      `json:"dead"` // events given up after the maximum age
	LastSuccessAt *time.Time `json:"lastSuccessAt,omitempty"`
	LastError     string     `json:"lastError,omitempty"`
	LastErrorAt   *time.Time `json:"lastErrorAt,omitempty"`
	CreatedAt     time.Time  `json:"createdAt"`
	// Retrying is the head event while its delivery is being retried.
	Retrying *WebhookRetry `json:"retrying,omitempty"`
	// DeadEvents are the newest events given up (GET /v1/webhooks/{id}).
	DeadEvents []WebhookDeadEvent `json:"deadEvents,omitempty"`
}

// WebhookRetry is the delivery state of a webhook's head event.
type WebhookRetry struct {
	EventSeq      int64     `json:"eventSeq"`
	Attempts      int       `json:"attempts"`
	NextAttemptAt time.Time `json:"nextAttemptAt"`
	LastError     string    `json:"lastError,omitempty"`
}

// WebhookDeadEvent is an event a webhook gave up.
type WebhookDeadEvent struct {
	EventSeq int64     `json:"eventSeq"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error"`
	At       time.Time `json:"at"`
}

func webhookView(w *store.Webhook) WebhookView {
	v := WebhookView{ID: w.ID, URL: w.URL, Events: w.Types, Source: w.Source, State: w.State, DisabledReason: w.DisabledReason,
		Backlog: w.Backlog, Delivered: w.Delivered, Dead: w.Dead, LastError: w.LastError, CreatedAt: w.CreatedAt}
	if len(v.Events) == 0 {
		v.Events = []string{"*"}
	}
	if !w.LastSuccess.IsZero() {
		v.LastSuccessAt = &w.LastSuccess
	}
	if !w.LastErrorAt.IsZero() {
		v.LastErrorAt = &w.LastErrorAt
	}
	v.State = w.Status()
	if a := w.Attempt; a != nil && a.LastError != "" {
		v.Retrying = &WebhookRetry{EventSeq: a.EventSeq, Attempts: a.Attempts, NextAttemptAt: a.NextAt, LastError: a.LastError}
	}
	return v
}

type webhookRequest struct {
	URL    string   `json:"url"`
	Events []string `json:"events"`
	Secret string   `json:"secret"`
}

func (s *server) createWebhook(c *fiber.Ctx) error {
	st, err := s.events()
	if err != nil {
		return err
	}
	var r webhookRequest
	if err := decodeStrict(c, &r); err != nil {
		return err
	}
	w, err := st.CreateWebhook(c.UserContext(), store.WebhookRequest{URL: strings.TrimSpace(r.URL), Secret: r.Secret, Types: r.Events})
	if errors.Is(err, store.ErrInvalid) {
		return webhookInvalid(err)
	}
	if err != nil {
		s.Log.Error("creating a webhook", "err", err)
		return webhookStoreErr(err, "")
	}
	if s.WebhooksChanged != nil {
		s.WebhooksChanged()
	}
	v := webhookView(w)
	v.Secret = w.Secret
	c.Location("/v1/webhooks/" + w.ID)
	return c.Status(fiber.StatusCreated).JSON(v)
}

// webhookInvalid turns the store's "invalid webhook: a: x; b: y" into
// the fields of a 422.
func webhookInvalid(err error) error {
	msg := err.Error()
	if _, m, ok := strings.Cut(msg, store.ErrInvalid.Error()+" webhook: "); ok {
		msg = m
	}
	var fields []FieldMessage
	for _, part := range strings.Split(msg, "; ") {
		f, m, ok := strings.Cut(part, ": ")
		if !ok {
			f, m = "(body)", part
		}
		if strings.HasPrefix(f, "events[") {
			f = "events"
		}
		fields = append(fields, FieldMessage{f, m})
	}
	return invalid(fields...)
}

func webhookStoreErr(err error, id string) *Error {
	if errors.Is(err, store.ErrNotFound) {
		return &Error{Status: fiber.StatusNotFound, Code: "not_found", Message: "no webhook " + strconvQuote(id)}
	}
	return &Error{Status: fiber.StatusInternalServerError, Code: "store_error", Message: "the message store failed; see the api's log"}
}

func (s *server) listWebhooks(c *fiber.Ctx) error {
	st, err := s.events()
	if err != nil {
		return err
	}
	if _, err := queryParams(c); err != nil {
		return err
	}
	list, err := st.Webhooks(c.UserContext())
	if err != nil {
		s.Log.Error("listing webhooks", "err", err)
		return webhookStoreErr(err, "")
	}
	out := make([]WebhookView, 0, len(list))
	for _, w := range list {
		out = append(out, webhookView(w))
	}
	return c.JSON(fiber.Map{"webhooks": out})
}

func (s *server) getWebhook(c *fiber.Ctx) error {
	st, err := s.events()
	if err != nil {
		return err
	}
	id := c.Params("id")
	w, err := st.GetWebhook(c.UserContext(), id)
	if err != nil {
		return webhookStoreErr(err, id)
	}
	v := webhookView(w)
	dead, err := st.WebhookDeadEvents(c.UserContext(), id, 20)
	if err != nil {
		return webhookStoreErr(err, id)
	}
	for _, d := range dead {
		v.DeadEvents = append(v.DeadEvents, WebhookDeadEvent{EventSeq: d.EventSeq, Attempts: d.Attempts, Error: d.Error, At: d.At})
	}
	return c.JSON(v)
}

func (s *server) deleteWebhook(c *fiber.Ctx) error {
	st, err := s.events()
	if err != nil {
		return err
	}
	id := c.Params("id")
	if err := st.DeleteWebhook(c.UserContext(), id); err != nil {
		return webhookStoreErr(err, id)
	}
	if s.WebhooksChanged != nil {
		s.WebhooksChanged()
	}
	return c.SendStatus(fiber.StatusNoContent)
}
