package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
)

// The instance lock: a lease (leases.go) says which instance drives what,
// by the instance's name, so two running processes with the same name
// (API_INSTANCE; two Raspberry Pis both called raspberrypi) would both
// think they hold every lease of that name. TryLockInstance lets only one
// of them run: a PostgreSQL session-level advisory lock on the name, held
// on a connection of its own for as long as the process runs. A process
// that dies, even by SIGKILL, loses its connection and so the lock at once
// (its kernel closes the socket, the server ends the session); one whose
// host died loses it when the server's TCP keepalive gives up on it, which
// the lock's session sets to about 10 s.

// instanceLockClass is the first key of the instance lock's two-key
// advisory lock ("SMAI"). Two-key advisory locks never collide with the
// one-key writeLock.
const instanceLockClass int32 = 0x534d4149

// Keepalive of the lock's session, as the server applies it: a host that
// died is given up on after idle + interval*count seconds.
const (
	lockKeepaliveIdle     = 4
	lockKeepaliveInterval = 2
	lockKeepaliveCount    = 3
)

// InstanceLock is this process's hold on its instance name (see above).
type InstanceLock struct {
	name string
	conn *pgx.Conn
}

// instanceKey is the second key of name's lock: its 32-bit FNV-1a hash.
func instanceKey(name string) int32 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int32(h.Sum32())
}

// TryLockInstance takes the instance lock of name on a new connection. If
// another session holds it, it returns nil and who holds it, as far as
// the server shows: the client's address, since when, its application
// name. With SQLite it fails with ErrUnsupported: one instance runs on a
// data directory.
func (s *Store) TryLockInstance(ctx context.Context, name string) (*InstanceLock, string, error) {
	if !s.Postgres() {
		return nil, "", fmt.Errorf("store: the instance lock: %w: the store is a SQLite file, one instance's", ErrUnsupported)
	}
	cfg := s.pgcfg.Copy()
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["application_name"] = truncate("sim-modem-api "+name, 63)
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, "", fmt.Errorf("store: the instance lock: connecting: %w", err)
	}
	fail := func(err error) (*InstanceLock, string, error) {
		conn.Close(context.WithoutCancel(ctx))
		return nil, "", fmt.Errorf("store: the instance lock of %q: %w", name, err)
	}
	// The server gives up on a dead peer after about 10 s instead of the
	// system's default two hours (TCP connections only; a Unix socket's
	// peer is on the same host anyway).
	if _, err := conn.Exec(ctx, fmt.Sprintf("SET tcp_keepalives_idle = %d; SET tcp_keepalives_interval = %d; SET tcp_keepalives_count = %d",
		lockKeepaliveIdle, lockKeepaliveInterval, lockKeepaliveCount)); err != nil {
		return fail(err)
	}
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", instanceLockClass, instanceKey(name)).Scan(&got); err != nil {
		return fail(err)
	}
	if got {
		return &InstanceLock{name: name, conn: conn}, "", nil
	}
	holder, err := lockHolder(ctx, conn, name)
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return nil, "", fmt.Errorf("store: the instance lock of %q: %w", name, err)
	}
	return nil, holder, nil
}

// lockHolder describes the session that holds name's lock.
func lockHolder(ctx context.Context, conn *pgx.Conn, name string) (string, error) {
	var addr, app *string
	var since *time.Time
	err := conn.QueryRow(ctx, `SELECT host(a.client_addr), a.backend_start, a.application_name
		FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.classid = $1::oid AND l.objid = $2::oid AND l.objsubid = 2 AND l.granted
			AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
		LIMIT 1`, uint32(instanceLockClass), uint32(instanceKey(name))).Scan(&addr, &since, &app)
	if errors.Is(err, pgx.ErrNoRows) {
		return "a session that just ended", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading who holds it: %w", err)
	}
	d := "a PostgreSQL session"
	switch {
	case addr != nil:
		d += " from " + *addr
	case since != nil:
		d += " over a local socket"
	}
	if since != nil {
		d += " since " + since.UTC().Format(time.RFC3339)
	}
	if app != nil && *app != "" {
		d += fmt.Sprintf(" (application %q)", *app)
	}
	return d, nil
}

// Name is the instance name the lock holds.
func (l *InstanceLock) Name() string { return l.name }

// Check asks the server whether the lock's session still holds the lock:
// an error says the session is gone (and with it, once the server notices,
// the lock), or that the server cannot be reached now.
func (l *InstanceLock) Check(ctx context.Context) error {
	var held bool
	err := l.conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
		AND classid = $1::oid AND objid = $2::oid AND objsubid = 2 AND granted)`,
		uint32(instanceLockClass), uint32(instanceKey(l.name))).Scan(&held)
	if err != nil {
		return fmt.Errorf("store: checking the instance lock of %q: %w", l.name, err)
	}
	if !held {
		return fmt.Errorf("store: the instance lock of %q is no longer held by its session", l.name)
	}
	return nil
}

// Unlock releases the lock: it closes the session, which ends it.
func (l *InstanceLock) Unlock(ctx context.Context) error {
	if err := l.conn.Close(ctx); err != nil {
		return fmt.Errorf("store: releasing the instance lock of %q: %w", l.name, err)
	}
	return nil
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
