package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitExpired moves the clock past a lease's ttl: the injected clock with
// SQLite; with PostgreSQL, whose clock is the server's, it waits for it.
func waitExpired(t *testing.T, s *Store, c *clock, name string, ttl time.Duration) {
	t.Helper()
	if !s.Postgres() {
		c.Add(ttl)
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		l, err := s.GetLease(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if !l.Current {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("lease %s still current 30 s after its ttl %v", name, ttl)
		}
		time.Sleep(ttl / 4)
	}
}

func TestLeaseAcquireRenewTakeOverRelease(t *testing.T) {
	c := newClock()
	s := openTest(t, c)
	ctx := context.Background()
	const ttl = 200 * time.Millisecond
	name := LeaseName("sim1")

	if _, err := s.GetLease(ctx, name); !errors.Is(err, ErrNotFound) {
		t.Fatalf("never held: %v", err)
	}
	l, held, err := s.AcquireLease(ctx, name, "api-a", "http://a:8090", ttl)
	if err != nil || !held || l.Holder != "api-a" || l.Token != 1 || l.URL != "http://a:8090" || !l.Current {
		t.Fatalf("first acquire %+v %v %v", l, held, err)
	}
	// While it is current, another holder is refused and told whose it is.
	other, held, err := s.AcquireLease(ctx, name, "api-b", "http://b:8090", ttl)
	if err != nil || held || other.Holder != "api-a" || other.URL != "http://a:8090" {
		t.Fatalf("second holder %+v %v %v", other, held, err)
	}
	// The holder renews: same token, later expiry.
	c.Add(ttl / 2)
	r, held, err := s.AcquireLease(ctx, name, "api-a", "http://a:8090", ttl)
	if err != nil || !held || r.Token != 1 || r.Expires.Before(l.Expires) {
		t.Fatalf("renew %+v %v %v (first %+v)", r, held, err, l)
	}
	// Once it has expired, another takes it over, with the next token.
	waitExpired(t, s, c, name, ttl)
	b, held, err := s.AcquireLease(ctx, name, "api-b", "http://b:8090", ttl)
	if err != nil || !held || b.Holder != "api-b" || b.Token != 2 {
		t.Fatalf("take over %+v %v %v", b, held, err)
	}
	if _, held, _ := s.AcquireLease(ctx, name, "api-a", "", ttl); held {
		t.Fatal("the old holder renewed a lease taken over")
	}
	// Released, it is free at once; a release by another is ignored.
	if err := s.ReleaseLease(ctx, name, "api-a"); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.GetLease(ctx, name); !l.Current || l.Holder != "api-b" {
		t.Fatalf("released by a non-holder: %+v", l)
	}
	if err := s.ReleaseLease(ctx, name, "api-b"); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.GetLease(ctx, name); l.Current {
		t.Fatalf("still current after release: %+v", l)
	}
	a, held, err := s.AcquireLease(ctx, name, "api-a", "", time.Minute)
	if err != nil || !held || a.Token != 3 {
		t.Fatalf("after release %+v %v %v", a, held, err)
	}
	all, err := s.Leases(ctx)
	if err != nil || len(all) != 1 || all[0].Holder != "api-a" || !all[0].Current {
		t.Fatalf("leases %+v %v", all, err)
	}
	for _, bad := range []struct {
		name, holder string
		ttl          time.Duration
	}{{"", "a", ttl}, {"x", "", ttl}, {"x", "a", 0}} {
		if _, _, err := s.AcquireLease(ctx, bad.name, bad.holder, "", bad.ttl); !errors.Is(err, ErrInvalid) {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
}
