package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Webhook states.
const (
	WebhookActive   = "active"   // receiving events
	WebhookDisabled = "disabled" // the receiver answered 410 Gone; DisabledReason says so
)

// Webhook sources.
const (
	WebhookFromAPI = "api" // POST /v1/webhooks
	WebhookFromEnv = "env" // API_WEBHOOK_URL, kept in step with the environment at start
)

// Webhook is a receiver of events, with its durable delivery state.
type Webhook struct {
	ID             string   // "wh_…"
	URL            string   //
	Secret         string   // the HMAC key
	Types          []string // event type patterns; empty for all
	Source         string   // WebhookFromAPI or WebhookFromEnv
	State          string   // WebhookActive or WebhookDisabled
	DisabledReason string   //
	// Cursor is the last event it is done with (delivered, or dead); the
	// next is the first event of its types after it.
	Cursor      int64
	Delivered   int64 // events acknowledged with a 2xx
	Dead        int64 // events given up after the maximum age
	LastSuccess time.Time
	LastError   string
	LastErrorAt time.Time
	CreatedAt   time.Time
	// Backlog is the number of events of its types after Cursor (Webhooks
	// and GetWebhook fill it).
	Backlog int64
	// Attempt is the head event being tried, nil if none is.
	Attempt *WebhookAttempt

	row int64
}

// Status is the webhook's state as the api and the metrics show it:
// disabled, failing (its head event is being retried after a failed
// attempt), or active.
func (w *Webhook) Status() string {
	switch {
	case w.State != WebhookActive:
		return w.State
	case w.Attempt != nil && w.Attempt.LastError != "":
		return "failing"
	}
	return WebhookActive
}

// WebhookAttempt is the delivery state of the event at the head of a
// webhook's queue.
type WebhookAttempt struct {
	EventSeq  int64
	Attempts  int       // attempts begun (committed before each)
	NextAt    time.Time // not before: the backoff after a failure, or after an attempt a crash interrupted
	LastError string
}

// NewWebhookSecret returns a random signing secret ("whsec_" and 64 hex
// digits: 256 bits).
func NewWebhookSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return "whsec_" + hex.EncodeToString(b[:])
}

// WebhookRequest is a webhook to create.
type WebhookRequest struct {
	URL    string
	Secret string   // "" generates one (NewWebhookSecret)
	Types  []string // event type patterns (ValidEventPattern); empty for all
	Source string   // "" is WebhookFromAPI
}

// Validate checks the request and names every bad field.
func (r *WebhookRequest) Validate() error {
	var bad []string
	u, err := url.Parse(r.URL)
	switch {
	case r.URL == "":
		bad = append(bad, "url: required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		bad = append(bad, "url: an absolute http:// or https:// URL")
	case u.User != nil:
		bad = append(bad, "url: no user:password@ (use the signature to authenticate)")
	case len(r.URL) > 2048:
		bad = append(bad, "url: at most 2048 characters")
	}
	if r.Secret != "" && (len(r.Secret) < 16 || len(r.Secret) > 256) {
		bad = append(bad, "secret: 16 to 256 characters")
	}
	for i, t := range r.Types {
		if !ValidEventPattern(t) {
			bad = append(bad, fmt.Sprintf("events[%d]: %q is no event type (%s, a family like message.*, or *)", i, t, strings.Join(EventTypes, ", ")))
		}
	}
	if r.Source != "" && r.Source != WebhookFromAPI && r.Source != WebhookFromEnv {
		bad = append(bad, "source: api or env")
	}
	if len(bad) > 0 {
		return fmt.Errorf("%w webhook: %s", ErrInvalid, strings.Join(bad, "; "))
	}
	return nil
}

// CreateWebhook stores a webhook. It receives the events appended after
// it was created, never older ones. The returned webhook holds its
// secret (generated if the request had none): show it once.
func (s *Store) CreateWebhook(ctx context.Context, r WebhookRequest) (*Webhook, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("store: create webhook: %w", err)
	}
	if r.Secret == "" {
		r.Secret = NewWebhookSecret()
	}
	if r.Source == "" {
		r.Source = WebhookFromAPI
	}
	uid := "wh_" + newID()
	err := s.write(ctx, "create webhook", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO webhooks (uid, url, secret, types, source, cursor, created_at)
			VALUES (?, ?, ?, ?, ?, `+s.lastEventSeqSQL()+`, ?)`,
			uid, r.URL, r.Secret, strings.Join(r.Types, ","), r.Source, s.nowMs())
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.GetWebhook(ctx, uid)
}

// EnsureEnvWebhook makes the environment's webhook (API_WEBHOOK_URL) the
// stored one of source env: created on first start, its URL, secret and
// types updated when the environment changed (its cursor, and so its
// backlog, kept), and any other env webhook removed. An empty URL removes
// it. It returns the webhook (nil when removed).
func (s *Store) EnsureEnvWebhook(ctx context.Context, r WebhookRequest) (*Webhook, error) {
	r.Source = WebhookFromEnv
	if r.URL == "" {
		err := s.write(ctx, "remove the env webhook", func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE source = 'env'`)
			return err
		})
		return nil, err
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("store: the environment's webhook: %w", err)
	}
	if r.Secret == "" {
		return nil, fmt.Errorf("store: the environment's webhook: %w: a secret is required (API_WEBHOOK_SECRET)", ErrInvalid)
	}
	var uid string
	err := s.write(ctx, "the env webhook", func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT uid FROM webhooks WHERE source = 'env' ORDER BY id LIMIT 1`).Scan(&uid)
		if errors.Is(err, sql.ErrNoRows) {
			uid = "wh_" + newID()
			_, err = tx.ExecContext(ctx, `INSERT INTO webhooks (uid, url, secret, types, source, cursor, created_at)
				VALUES (?, ?, ?, ?, 'env', `+s.lastEventSeqSQL()+`, ?)`,
				uid, r.URL, r.Secret, strings.Join(r.Types, ","), s.nowMs())
			return err
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE source = 'env' AND uid <> ?`, uid); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET url = ?, secret = ?, types = ? WHERE uid = ?`,
			r.URL, r.Secret, strings.Join(r.Types, ","), uid)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.GetWebhook(ctx, uid)
}

const webhookColumns = `w.id, w.uid, w.url, w.secret, w.types, w.source, w.state, w.disabled_reason, w.cursor, w.delivered, w.dead,
	w.last_success_at, w.last_error, w.last_error_at, w.created_at, a.event_seq, a.attempts, a.next_at, a.last_error`

func scanWebhook(sc scanner) (*Webhook, error) {
	var w Webhook
	var types string
	var success, errAt, created int64
	var aSeq, aAttempts, aNext sql.NullInt64
	var aErr sql.NullString
	if err := sc.Scan(&w.row, &w.ID, &w.URL, &w.Secret, &types, &w.Source, &w.State, &w.DisabledReason, &w.Cursor, &w.Delivered,
		&w.Dead, &success, &w.LastError, &errAt, &created, &aSeq, &aAttempts, &aNext, &aErr); err != nil {
		return nil, err
	}
	if types != "" {
		w.Types = strings.Split(types, ",")
	}
	w.LastSuccess, w.LastErrorAt, w.CreatedAt = msTime(success), msTime(errAt), msTime(created)
	if aSeq.Valid {
		w.Attempt = &WebhookAttempt{EventSeq: aSeq.Int64, Attempts: int(aAttempts.Int64), NextAt: msTime(aNext.Int64), LastError: aErr.String}
	}
	return &w, nil
}

func (s *Store) backlog(ctx context.Context, w *Webhook) error {
	cond, args := eventTypeFilter(w.Types)
	return s.r.QueryRowContext(ctx, `SELECT count(*) FROM events WHERE seq > ? AND `+cond, append([]any{w.Cursor}, args...)...).Scan(&w.Backlog)
}

// GetWebhook returns the webhook with its backlog; ErrNotFound if none.
func (s *Store) GetWebhook(ctx context.Context, id string) (*Webhook, error) {
	w, err := scanWebhook(s.r.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks w
		LEFT JOIN webhook_attempts a ON a.webhook_id = w.id WHERE w.uid = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: webhook %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: webhook %q: %w", id, err)
	}
	if err := s.backlog(ctx, w); err != nil {
		return nil, fmt.Errorf("store: webhook %q: backlog: %w", id, err)
	}
	return w, nil
}

// Webhooks lists every webhook, oldest first, with its backlog.
func (s *Store) Webhooks(ctx context.Context) ([]*Webhook, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+webhookColumns+` FROM webhooks w
		LEFT JOIN webhook_attempts a ON a.webhook_id = w.id ORDER BY w.id`)
	if err != nil {
		return nil, fmt.Errorf("store: webhooks: %w", err)
	}
	var out []*Webhook
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: webhooks: %w", err)
		}
		out = append(out, w)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: webhooks: %w", err)
	}
	for _, w := range out {
		if err := s.backlog(ctx, w); err != nil {
			return nil, fmt.Errorf("store: webhook %q: backlog: %w", w.ID, err)
		}
	}
	return out, nil
}

// DeleteWebhook removes the webhook and its delivery state.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	return s.write(ctx, "delete webhook "+id, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE uid = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// WebhookNext returns the webhook and the next event it is to receive
// (nil if it has received everything), with the event's delivery state
// when an attempt was begun (nil before the first). ErrNotFound if the
// webhook was deleted.
func (s *Store) WebhookNext(ctx context.Context, id string) (*Webhook, *Event, error) {
	w, err := scanWebhook(s.r.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks w
		LEFT JOIN webhook_attempts a ON a.webhook_id = w.id WHERE w.uid = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("store: webhook %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: webhook %q: %w", id, err)
	}
	cond, args := eventTypeFilter(w.Types)
	e, err := scanEvent(s.r.QueryRowContext(ctx, `SELECT seq, uid, type, at, data FROM events WHERE seq > ? AND `+cond+` ORDER BY seq LIMIT 1`,
		append([]any{w.Cursor}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return w, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: webhook %q: next event: %w", id, err)
	}
	if w.Attempt != nil && w.Attempt.EventSeq != e.Seq {
		w.Attempt = nil // the state of an event it is done with (cannot happen: cleared with the cursor's move)
	}
	return w, &e, nil
}

// writeProgress is write for a webhook's delivery progress: committed
// like every write (a crash of the process loses none of it: the WAL is
// in the operating system's cache), but not fsynced (synchronous=NORMAL
// for this one transaction), so that a webhook that keeps up costs no
// fsync per event. On power loss the latest progress may be lost with
// the commits after it, never alone (the WAL is replayed in order): the
// cursor then moves back, and events are delivered again with their ids,
// never skipped. Events themselves, and everything else, stay fsynced.
func (s *Store) writeProgress(ctx context.Context, what string, f func(tx *sql.Tx) error) (err error) {
	if s.Postgres() {
		// The same trade in PostgreSQL's terms: this transaction's commit
		// does not wait for its WAL flush; a crash of the server (not of
		// the api) may lose it with the commits after it.
		return s.commit(ctx, what, s.w.BeginTx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				return err
			}
			return f(tx)
		})
	}
	conn, err := s.w.Conn(ctx) // the one writer connection, exclusively
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	defer func() {
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = FULL"); rerr != nil {
			// Never leave the writer without fsync: discard the connection
			// (a new one opens with the DSN's synchronous=FULL).
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			err = errors.Join(err, fmt.Errorf("store: %s: restoring synchronous=FULL: %w", what, rerr))
		}
	}()
	return s.commit(ctx, what, conn.BeginTx, f)
}

// webhookUpdate runs f on the webhook's row in one transaction
// (writeProgress); the webhook must exist and its cursor be before seq.
func (s *Store) webhookUpdate(ctx context.Context, what, id string, seq int64, f func(tx *sql.Tx, row int64, now int64) error) error {
	return s.writeProgress(ctx, what+" "+id, func(tx *sql.Tx) error {
		var row, cursor int64
		err := tx.QueryRowContext(ctx, `SELECT id, cursor FROM webhooks WHERE uid = ?`, id).Scan(&row, &cursor)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if seq <= cursor {
			return fmt.Errorf("%w: event %d is behind the webhook's cursor %d", ErrInvalidTransition, seq, cursor)
		}
		return f(tx, row, s.nowMs())
	})
}

// WebhookAttemptBegin commits that an attempt to deliver event seq begins:
// the attempt is counted, and a restart after a crash during it tries
// again not before retryAt. It returns the attempt's number (1 for the
// first).
func (s *Store) WebhookAttemptBegin(ctx context.Context, id string, seq int64, retryAt time.Time) (int, error) {
	var n int
	err := s.webhookUpdate(ctx, "webhook attempt", id, seq, func(tx *sql.Tx, row, now int64) error {
		return tx.QueryRowContext(ctx, `INSERT INTO webhook_attempts (webhook_id, event_seq, attempts, next_at) VALUES (?, ?, 1, ?)
			ON CONFLICT (webhook_id) DO UPDATE SET attempts = CASE WHEN webhook_attempts.event_seq = excluded.event_seq THEN webhook_attempts.attempts + 1 ELSE 1 END,
			event_seq = excluded.event_seq, next_at = excluded.next_at RETURNING attempts`, row, seq, timeMs(retryAt)).Scan(&n)
	})
	return n, err
}

// WebhookDelivered commits that event seq was acknowledged: the cursor
// moves past it and the webhook records the success.
func (s *Store) WebhookDelivered(ctx context.Context, id string, seq int64) error {
	return s.webhookUpdate(ctx, "webhook delivered", id, seq, func(tx *sql.Tx, row, now int64) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_attempts WHERE webhook_id = ?`, row); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE webhooks SET cursor = ?, delivered = delivered + 1, last_success_at = ? WHERE id = ?`, seq, now, row)
		return err
	})
}

// WebhookDeliveredNext is WebhookDelivered of event seq and
// WebhookAttemptBegin of event next in one transaction: the commit after
// one attempt is the commit before the next, so a webhook that keeps up
// costs one commit per event. It returns the attempt's number (1).
func (s *Store) WebhookDeliveredNext(ctx context.Context, id string, seq, next int64, retryAt time.Time) (int, error) {
	if next <= seq {
		return 0, fmt.Errorf("store: webhook delivered: %w: next event %d is not after %d", ErrInvalid, next, seq)
	}
	err := s.webhookUpdate(ctx, "webhook delivered", id, seq, func(tx *sql.Tx, row, now int64) error {
		if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET cursor = ?, delivered = delivered + 1, last_success_at = ? WHERE id = ?`, seq, now, row); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO webhook_attempts (webhook_id, event_seq, attempts, next_at, last_error) VALUES (?, ?, 1, ?, '')
			ON CONFLICT (webhook_id) DO UPDATE SET event_seq = excluded.event_seq, attempts = 1, next_at = excluded.next_at, last_error = ''`,
			row, next, timeMs(retryAt))
		return err
	})
	if err != nil {
		return 0, err
	}
	return 1, nil
}

// WebhookFailed commits a failed attempt at event seq: the error, and the
// time of the next attempt.
func (s *Store) WebhookFailed(ctx context.Context, id string, seq int64, reason string, retryAt time.Time) error {
	return s.webhookUpdate(ctx, "webhook failed", id, seq, func(tx *sql.Tx, row, now int64) error {
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_attempts SET last_error = ?, next_at = ? WHERE webhook_id = ? AND event_seq = ?`,
			reason, timeMs(retryAt), row, seq); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE webhooks SET last_error = ?, last_error_at = ? WHERE id = ?`, reason, now, row)
		return err
	})
}

// WebhookDead commits that the webhook gives event seq up (its maximum
// age passed): recorded as dead, counted, and the cursor moves past it.
func (s *Store) WebhookDead(ctx context.Context, id string, seq int64, reason string) error {
	return s.webhookUpdate(ctx, "webhook dead", id, seq, func(tx *sql.Tx, row, now int64) error {
		var attempts int
		err := tx.QueryRowContext(ctx, `SELECT attempts FROM webhook_attempts WHERE webhook_id = ? AND event_seq = ?`, row, seq).Scan(&attempts)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_dead (webhook_id, event_seq, attempts, error, at) VALUES (?, ?, ?, ?, ?)`,
			row, seq, attempts, reason, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM webhook_attempts WHERE webhook_id = ?`, row); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET cursor = ?, dead = dead + 1, last_error = ?, last_error_at = ? WHERE id = ?`,
			seq, "gave up event "+fmt.Sprint(seq)+": "+reason, now, row)
		return err
	})
}

// WebhookDisable disables the webhook (the receiver answered 410 Gone):
// it receives nothing more; its cursor stays where it is.
func (s *Store) WebhookDisable(ctx context.Context, id, reason string) error {
	return s.write(ctx, "disable webhook "+id, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE webhooks SET state = 'disabled', disabled_reason = ?, last_error = ?, last_error_at = ? WHERE uid = ?`,
			reason, reason, s.nowMs(), id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// DeadEvent is an event a webhook gave up on.
type DeadEvent struct {
	EventSeq int64
	Attempts int
	Error    string
	At       time.Time
}

// WebhookDeadEvents lists the newest events the webhook gave up on, at
// most limit.
func (s *Store) WebhookDeadEvents(ctx context.Context, id string, limit int) ([]DeadEvent, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT d.event_seq, d.attempts, d.error, d.at FROM webhook_dead d JOIN webhooks w ON w.id = d.webhook_id
		WHERE w.uid = ? ORDER BY d.event_seq DESC LIMIT ?`, id, limit)
	if err != nil {
		return nil, fmt.Errorf("store: dead events of %q: %w", id, err)
	}
	defer rows.Close()
	var out []DeadEvent
	for rows.Next() {
		var d DeadEvent
		var at int64
		if err := rows.Scan(&d.EventSeq, &d.Attempts, &d.Error, &at); err != nil {
			return nil, fmt.Errorf("store: dead events of %q: %w", id, err)
		}
		d.At = msTime(at)
		out = append(out, d)
	}
	return out, rows.Err()
}
