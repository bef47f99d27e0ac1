// Package webhook delivers the store's event log to the webhooks stored
// with it: signed HTTP POSTs, at least once, in sequence order per
// webhook, from the durable cursor in the store.
//
// One goroutine per active webhook, owned by the Manager, delivers one
// event at a time: it commits the attempt (WebhookAttemptBegin: counted,
// and the time a restart may try again) before the POST and its outcome
// after it (WebhookDelivered moves the cursor; WebhookFailed keeps the
// event at the head with the next time; WebhookDead gives it up after
// MaxAge). While the receiver keeps up, the commit after one event is
// the commit before the next (WebhookDeliveredNext), so a delivery costs
// one commit. A crash anywhere leaves the event at the head, so it is sent
// again with the same id and the same body (store.Event.Body); nothing is
// skipped. A 2xx within Timeout is success; 410 Gone disables the
// webhook; anything else (another status, a redirect, a network error, a
// timeout) is retried with exponential backoff and jitter.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// Defaults of Config.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultRetryMin = time.Second
	DefaultRetryMax = 10 * time.Minute
	DefaultMaxAge   = 24 * time.Hour
)

// Results of an attempt, the label values of the deliveries metric.
const (
	ResultDelivered = "delivered"  // a 2xx
	ResultHTTPError = "http_error" // another status (or a redirect, not followed)
	ResultNetwork   = "network_error"
	ResultTimeout   = "timeout"
	ResultDead      = "dead" // given up after MaxAge (counted besides the failure that ended it)
	ResultGone      = "gone" // 410: the webhook is disabled
)

// Config configures a Manager.
type Config struct {
	Store *store.Store
	// Timeout bounds one attempt, from connecting to the end of the
	// response's headers (default 10 s).
	Timeout time.Duration
	// RetryMin and RetryMax bound the backoff between attempts at one
	// event: RetryMin doubled per attempt, at most RetryMax, ±25 % jitter.
	RetryMin, RetryMax time.Duration
	// MaxAge: an event older than this whose attempt fails is given up
	// (dead) and the webhook goes on with the next (default 24 h).
	MaxAge time.Duration
	// Client sends the POSTs; nil is a client with Timeout that follows
	// no redirect.
	Client *http.Client
	// Logger; nil is slog.Default().
	Logger *slog.Logger
	// OnResult is called with every attempt's result (Result*).
	OnResult func(result string)
}

// Manager runs a delivery goroutine per active webhook.
type Manager struct {
	cfg    Config
	reload chan struct{}
}

// New returns a manager; Run starts it.
func New(cfg Config) *Manager {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = DefaultRetryMin
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(DefaultRetryMax, cfg.RetryMin)
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{
			Timeout:       cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.OnResult == nil {
		cfg.OnResult = func(string) {}
	}
	return &Manager{cfg: cfg, reload: make(chan struct{}, 1)}
}

// Reload makes Run look at the stored webhooks again (after one was
// created or deleted); it never blocks.
func (m *Manager) Reload() {
	select {
	case m.reload <- struct{}{}:
	default:
	}
}

// reconcileEvery is how often Run looks at the stored webhooks without a
// Reload.
const reconcileEvery = 30 * time.Second

// reconcileAfterCommit is how soon after another instance's commit Run
// looks at the stored webhooks again, at most (on a shared PostgreSQL
// store a webhook may be created or deleted through any instance; their
// Reload reaches only their own process).
const reconcileAfterCommit = time.Second

// Run delivers until ctx ends, then stops every delivery goroutine and
// returns once they have returned.
func (m *Manager) Run(ctx context.Context) {
	type running struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	workers := map[string]*running{}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer func() {
		for _, w := range workers {
			w.cancel()
		}
	}()
	exited := make(chan struct{}, 1)
	tick := time.NewTicker(reconcileEvery)
	defer tick.Stop()
	shared := m.cfg.Store.Postgres()
	for {
		var changed <-chan struct{}
		if shared {
			changed = m.cfg.Store.EventsChanged() // before reading: no change is missed
		}
		list, err := m.cfg.Store.Webhooks(ctx)
		if err != nil && ctx.Err() == nil {
			m.cfg.Logger.Error("webhooks: reading the stored webhooks", "err", err)
		}
		active := map[string]bool{}
		for _, wh := range list {
			if wh.State == store.WebhookActive {
				active[wh.ID] = true
			}
		}
		for id, w := range workers {
			select {
			case <-w.done:
				delete(workers, id) // it ended itself (disabled, deleted)
				continue
			default:
			}
			if !active[id] && err == nil {
				w.cancel()
				<-w.done
				delete(workers, id)
			}
		}
		for id := range active {
			if workers[id] != nil {
				continue
			}
			wctx, cancel := context.WithCancel(ctx)
			w := &running{cancel: cancel, done: make(chan struct{})}
			workers[id] = w
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(w.done)
				defer func() {
					select {
					case exited <- struct{}{}:
					default:
					}
				}()
				m.deliver(wctx, id)
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-m.reload:
		case <-exited:
		case <-tick.C:
		case <-changed:
			// Any commit of the cluster: look again, at most once per
			// reconcileAfterCommit.
			if !sleep(ctx, reconcileAfterCommit) {
				return
			}
		}
	}
}

// deliver sends the webhook's events, one at a time, until ctx ends or
// the webhook is disabled or deleted.
func (m *Manager) deliver(ctx context.Context, id string) {
	log := m.cfg.Logger.With("webhook", id)
	st := m.cfg.Store
	for {
		changed := st.EventsChanged() // before reading: no append is missed
		wh, ev, err := st.WebhookNext(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			log.Error("webhook: reading its next event", "err", err)
			if !sleep(ctx, time.Second) {
				return
			}
			continue
		case wh.State != store.WebhookActive:
			return
		case ev == nil:
			select {
			case <-ctx.Done():
				return
			case <-changed:
			}
			continue
		}
		prior := 0
		if wh.Attempt != nil {
			prior = wh.Attempt.Attempts
			if wait := time.Until(wh.Attempt.NextAt); wait > 0 {
				if !sleep(ctx, wait) {
					return
				}
				continue // the webhook may have changed meanwhile
			}
		}
		// While the receiver keeps up, each acknowledged event's commit
		// also begins the attempt at the next one (WebhookDeliveredNext).
		n, begun := prior+1, false
		for ev != nil {
			if ev, n, err = m.attempt(ctx, wh, ev, n, begun); err != nil {
				if ctx.Err() != nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, errDisabled) {
					return
				}
				log.Error("webhook: recording a delivery", "err", err)
				if !sleep(ctx, time.Second) {
					return
				}
				break
			}
			begun = true
		}
	}
}

var errDisabled = errors.New("disabled")

// attempt makes attempt number n at ev and commits its outcome (begun:
// its beginning is already committed). After a success it returns the
// webhook's next event, whose attempt it has begun in the same commit, or
// nil.
func (m *Manager) attempt(ctx context.Context, wh *store.Webhook, ev *store.Event, n int, begun bool) (*store.Event, int, error) {
	st := m.cfg.Store
	if !begun {
		// Committed before the POST: a crash during it is retried after a
		// restart, not before the backoff this attempt would have had.
		if _, err := st.WebhookAttemptBegin(ctx, wh.ID, ev.Seq, time.Now().Add(m.backoff(n))); err != nil {
			return nil, 0, err
		}
	}
	result, detail := m.post(ctx, wh, ev)
	// The outcome is committed even while shutting down: the POST happened.
	wctx := context.WithoutCancel(ctx)
	if ctx.Err() != nil && result != ResultDelivered {
		// Interrupted by the shutdown: try again as soon as we run again.
		return nil, 0, errors.Join(ctx.Err(), st.WebhookFailed(wctx, wh.ID, ev.Seq, "interrupted by shutdown", time.Now()))
	}
	m.cfg.OnResult(result)
	switch result {
	case ResultDelivered:
		next, err := st.Events(wctx, ev.Seq, wh.Types, 1)
		if err != nil || len(next) == 0 || ctx.Err() != nil {
			return nil, 0, errors.Join(err, st.WebhookDelivered(wctx, wh.ID, ev.Seq))
		}
		nn, err := st.WebhookDeliveredNext(wctx, wh.ID, ev.Seq, next[0].Seq, time.Now().Add(m.backoff(1)))
		if err != nil {
			return nil, 0, err
		}
		return &next[0], nn, nil
	case ResultGone:
		m.cfg.Logger.Warn("webhook disabled: the receiver answered 410 Gone", "webhook", wh.ID, "url", wh.URL)
		if err := st.WebhookDisable(wctx, wh.ID, "the receiver answered 410 Gone at event "+ev.ID); err != nil {
			return nil, 0, err
		}
		return nil, 0, errDisabled
	}
	if age := time.Since(ev.Time); age >= m.cfg.MaxAge {
		m.cfg.OnResult(ResultDead)
		m.cfg.Logger.Warn("webhook: gave an event up after its maximum age", "webhook", wh.ID, "event", ev.ID,
			"type", ev.Type, "attempts", n, "err", detail)
		return nil, 0, st.WebhookDead(wctx, wh.ID, ev.Seq, fmt.Sprintf("%s after %d attempts in %v", detail, n, age.Round(time.Second)))
	}
	return nil, 0, st.WebhookFailed(wctx, wh.ID, ev.Seq, detail, time.Now().Add(m.backoff(n)))
}

// post sends ev to the webhook and classifies the answer.
func (m *Manager) post(ctx context.Context, wh *store.Webhook, ev *store.Event) (result, detail string) {
	body := ev.Body()
	ts := time.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, wh.URL, bytes.NewReader(body))
	if err != nil {
		return ResultNetwork, fmt.Sprintf("building the request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "sim-modem-api-webhook/1")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(wh.Secret, ts, body))
	req.Header.Set(HeaderEventID, ev.ID)
	req.Header.Set(HeaderEventType, ev.Type)
	req.Header.Set(HeaderWebhookID, wh.ID)
	resp, err := m.cfg.Client.Do(req)
	if err != nil {
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			return ResultTimeout, fmt.Sprintf("no answer within %v", m.cfg.Timeout)
		}
		return ResultNetwork, err.Error()
	}
	// Read (a bounded amount of) the body so the connection is reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return ResultDelivered, ""
	case resp.StatusCode == http.StatusGone:
		return ResultGone, resp.Status
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return ResultHTTPError, "HTTP " + resp.Status + " (redirects are not followed)"
	}
	return ResultHTTPError, "HTTP " + resp.Status
}

// backoff is the wait after attempt n (1 for the first): RetryMin doubled
// n-1 times, at most RetryMax, then ±25 % jitter so that webhooks failing
// together do not retry together.
func (m *Manager) backoff(n int) time.Duration {
	return Backoff(m.cfg.RetryMin, m.cfg.RetryMax, n)
}

// Backoff is the wait after attempt n: min·2^(n-1), at most max, ±25 %.
func Backoff(minWait, maxWait time.Duration, n int) time.Duration {
	d := minWait
	for i := 1; i < n && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	return time.Duration(float64(d) * (0.75 + 0.5*rand.Float64()))
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
