package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Lease is a named ownership with an expiry, kept in the store so that
// several api instances on one database agree on who does what: "modem:<id>"
// while an instance drives that modem (Unit), "events" while one delivers
// the webhooks for the whole cluster. The holder renews it with its
// heartbeat; once it has expired, another instance may take it over, and
// Token then counts one more takeover.
type Lease struct {
	Name     string
	Holder   string // the instance (API_INSTANCE)
	URL      string // where the other instances reach the holder's HTTP API ("" if not advertised)
	Token    int64  // 1 for the first holder, +1 at every change of holder
	Acquired time.Time
	Renewed  time.Time
	Expires  time.Time
	// Current: the lease had not expired when it was read (Leases,
	// GetLease).
	Current bool
}

// LeaseName is the lease of the configured modem id.
func LeaseName(modem string) string { return "modem:" + modem }

// pgNow is PostgreSQL's clock in Unix ms.
const pgNow = `CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT)`

// nowSQL is the SQL expression, and its arguments, of the database's
// clock in Unix ms: with several instances the one clock every lease is
// measured by (PostgreSQL's clock_timestamp(); with SQLite, one instance,
// the store's clock).
func (s *Store) nowSQL() (string, []any) {
	if s.Postgres() {
		return pgNow, nil
	}
	return "?", []any{s.nowMs()}
}

// dbNowMs reads the database's clock (nowSQL).
func (s *Store) dbNowMs(ctx context.Context, tx *sql.Tx) (int64, error) {
	if !s.Postgres() {
		return s.nowMs(), nil
	}
	var now int64
	if err := tx.QueryRowContext(ctx, `SELECT `+pgNow).Scan(&now); err != nil {
		return 0, fmt.Errorf("reading the database's clock: %w", err)
	}
	return now, nil
}

// AcquireLease takes the lease name for holder, or renews it if holder
// holds it, for ttl from now by the database's clock; url is where holder
// is reached. It returns the lease as it is after the call and whether
// holder holds it: false if another holder's lease has not expired yet
// (the lease returned is theirs).
//
// A holder must stop acting on the lease before ttl has passed since it
// sent the call that last succeeded (measured on its own monotonic clock):
// then no two instances act at once, whatever the skew of their clocks.
func (s *Store) AcquireLease(ctx context.Context, name, holder, url string, ttl time.Duration) (Lease, bool, error) {
	if name == "" || holder == "" || ttl <= 0 {
		return Lease{}, false, fmt.Errorf("store: acquire lease %q for %q: %w: a name, a holder and a positive ttl are required", name, holder, ErrInvalid)
	}
	var l Lease
	var held bool
	err := s.write(ctx, "acquire lease "+name, func(tx *sql.Tx) error {
		now, err := s.dbNowMs(ctx, tx)
		if err != nil {
			return err
		}
		exp := now + ttl.Milliseconds()
		// The write lock serialises this with every other instance's
		// attempt: read, decide, write.
		cur, err := scanLease(tx.QueryRowContext(ctx, `SELECT `+leaseColumns+` FROM leases WHERE name = ?`, name))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, `INSERT INTO leases (name, holder, url, token, acquired_at, renewed_at, expires_at) VALUES (?, ?, ?, 1, ?, ?, ?)`,
				name, holder, url, now, now, exp)
		case err != nil:
			return err
		case cur.Holder == holder:
			_, err = tx.ExecContext(ctx, `UPDATE leases SET url = ?, renewed_at = ?, expires_at = ? WHERE name = ?`, url, now, exp, name)
		case timeMs(cur.Expires) <= now:
			_, err = tx.ExecContext(ctx, `UPDATE leases SET holder = ?, url = ?, token = token + 1, acquired_at = ?, renewed_at = ?, expires_at = ? WHERE name = ?`,
				holder, url, now, now, exp, name)
		default:
			l, held = cur, false
			l.Current = true
			return nil
		}
		if err != nil {
			return err
		}
		l, err = scanLease(tx.QueryRowContext(ctx, `SELECT `+leaseColumns+` FROM leases WHERE name = ?`, name))
		l.Current, held = true, true
		return err
	})
	if err != nil {
		return Lease{}, false, err
	}
	return l, held, nil
}

// ReleaseLease gives the lease up if holder holds it (it expires now), so
// that another instance takes it over at once; a lease held by another is
// left alone.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	return s.write(ctx, "release lease "+name, func(tx *sql.Tx) error {
		now, err := s.dbNowMs(ctx, tx)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE leases SET expires_at = ? WHERE name = ? AND holder = ? AND expires_at > ?`, now, name, holder, now)
		return err
	})
}

// Leases lists every lease, by name, each with whether it is current by
// the database's clock.
func (s *Store) Leases(ctx context.Context) ([]Lease, error) {
	now, args := s.nowSQL()
	rows, err := s.r.QueryContext(ctx, `SELECT `+leaseColumns+`, CASE WHEN expires_at > `+now+` THEN 1 ELSE 0 END FROM leases ORDER BY name`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: leases: %w", err)
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		l, err := scanLeaseCurrent(rows)
		if err != nil {
			return nil, fmt.Errorf("store: leases: %w", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: leases: %w", err)
	}
	return out, nil
}

// GetLease returns the lease name (Current says whether it is held now),
// or ErrNotFound if nobody ever held it.
func (s *Store) GetLease(ctx context.Context, name string) (Lease, error) {
	now, args := s.nowSQL()
	l, err := scanLeaseCurrent(s.r.QueryRowContext(ctx, `SELECT `+leaseColumns+`, CASE WHEN expires_at > `+now+` THEN 1 ELSE 0 END FROM leases WHERE name = ?`,
		append(args, name)...))
	if errors.Is(err, sql.ErrNoRows) {
		return Lease{}, fmt.Errorf("store: lease %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Lease{}, fmt.Errorf("store: lease %q: %w", name, err)
	}
	return l, nil
}

const leaseColumns = `name, holder, url, token, acquired_at, renewed_at, expires_at`

func scanLease(sc scanner) (Lease, error) {
	var l Lease
	var acq, ren, exp int64
	if err := sc.Scan(&l.Name, &l.Holder, &l.URL, &l.Token, &acq, &ren, &exp); err != nil {
		return Lease{}, err
	}
	l.Acquired, l.Renewed, l.Expires = msTime(acq), msTime(ren), msTime(exp)
	return l, nil
}

func scanLeaseCurrent(sc scanner) (Lease, error) {
	var l Lease
	var acq, ren, exp, cur int64
	if err := sc.Scan(&l.Name, &l.Holder, &l.URL, &l.Token, &acq, &ren, &exp, &cur); err != nil {
		return Lease{}, err
	}
	l.Acquired, l.Renewed, l.Expires, l.Current = msTime(acq), msTime(ren), msTime(exp), cur == 1
	return l, nil
}
