package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestInstanceLockNeedsPostgres(t *testing.T) {
	if pg != nil {
		t.Skip("SQLite only")
	}
	s := openTest(t, nil)
	if _, _, err := s.TryLockInstance(context.Background(), "api-1"); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("err %v, want ErrUnsupported", err)
	}
}

// lockWithin retries TryLockInstance until it takes the lock: the server
// ends a closed session, and releases its locks, a moment after the close.
func lockWithin(t *testing.T, s *Store, name string) *InstanceLock {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, holder, err := s.TryLockInstance(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if l != nil {
			t.Cleanup(func() { _ = l.Unlock(context.Background()) })
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lock of %q is still held by %s", name, holder)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// One session at a time holds an instance name; the others are told who
// holds it; a release, and a session that dies without one (a process
// killed with SIGKILL), let the next take it.
func TestInstanceLockOnePerName(t *testing.T) {
	a, b := openPair(t)
	ctx := context.Background()
	la, holder, err := a.TryLockInstance(ctx, "api-1")
	if err != nil || la == nil || holder != "" {
		t.Fatalf("first lock: %v %q %v", la, holder, err)
	}
	if err := la.Check(ctx); err != nil {
		t.Fatal(err)
	}
	lb, holder, err := b.TryLockInstance(ctx, "api-1")
	if err != nil || lb != nil {
		t.Fatalf("second lock of the same name: %v %v", lb, err)
	}
	if !strings.Contains(holder, "from 127.0.0.1 since ") || !strings.Contains(holder, `(application "sim-modem-api api-1")`) {
		t.Errorf("holder %q", holder)
	}
	other := lockWithin(t, b, "api-2") // another name is free
	if other.Name() != "api-2" {
		t.Errorf("name %q", other.Name())
	}
	// So is the name in another database of the server: another cluster.
	elsewhere := openAt(t, newLocation(t), nil)
	if l, holder, err := elsewhere.TryLockInstance(ctx, "api-1"); err != nil || l == nil {
		t.Fatalf("api-1 in another database: %v %q %v", l, holder, err)
	} else {
		defer l.Unlock(ctx)
	}

	// A clean release.
	if err := la.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	lb = lockWithin(t, b, "api-1")

	// The holder's process dies: its socket closes without a goodbye.
	if err := lb.conn.PgConn().Conn().Close(); err != nil {
		t.Fatal(err)
	}
	if err := lb.Check(ctx); err == nil {
		t.Error("Check of a dead session succeeded")
	}
	lockWithin(t, a, "api-1")
}

func TestTruncateKeepsRunes(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{{"abc", 5, "abc"}, {"abcdef", 3, "abc"}, {"aé", 2, "a"}, {"aé", 3, "aé"}} {
		if got := truncate(c.in, c.n); got != c.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
