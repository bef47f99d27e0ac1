// Package modemid knows which stored modem (store.Modem) the connected
// modem is: the SIM (IMSI, ICCID) in a stick (IMEI), read over AT once per
// relay session and upserted into the store, so that every row the outbox
// and the inbox write names the modem that holds it, never a device path.
//
// A relay session that becomes ready again may be another stick or another
// SIM (a replug, a SIM swap): main calls Invalidate on every (re)ready, and
// the next Current reads the identity again.
package modemid

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// ErrUnidentified is wrapped by Current when the modem does not tell its
// IMEI or its SIM's IMSI: the SIM is absent or waits for its PIN (the IMSI
// cannot be read then). Nothing that belongs to a modem can be done until
// it can be identified.
var ErrUnidentified = errors.New("the modem cannot be identified (SIM absent or locked?)")

// Tracker caches the connected modem's store id for one relay session.
// It is safe for concurrent use.
type Tracker struct {
	st   *store.Store
	ops  *modemops.Ops
	name string

	mu       sync.Mutex
	gen      uint64 // bumped by Invalidate
	id       int64  // the cached id, valid while idGen == gen
	idGen    uint64
	idCached bool
}

// New returns a Tracker that identifies modems with ops and records them
// in st under the configured modem id name.
func New(st *store.Store, ops *modemops.Ops, name string) *Tracker {
	return &Tracker{st: st, ops: ops, name: name}
}

// Name is the configured id of the modem entry the tracker serves.
func (t *Tracker) Name() string { return t.name }

// Invalidate forgets the cached identity: the stick or the SIM may have
// changed (called on every relay session (re)ready and after a PIN entry).
func (t *Tracker) Invalidate() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.gen++
	t.idCached = false
}

// Cached returns the id Current found in this session, if any, without
// touching the modem.
func (t *Tracker) Cached() (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.id, t.idCached && t.idGen == t.gen
}

// Current returns the store id of the modem behind e. Unless it is
// cached for this session, it reads the identity (AT+CGSN, AT+CIMI,
// AT+ZGETICCID/AT+CCID, …), records the modem (store.UpsertModem) and
// caches the id. It must run inside a modem job (it sends AT commands).
// The IMSI is required: without it (SIM absent, PIN) the error wraps
// ErrUnidentified; the ICCID alone would name the same SIM differently
// before and after its PIN is entered.
func (t *Tracker) Current(ctx context.Context, e modemops.AT) (int64, error) {
	t.mu.Lock()
	if t.idCached && t.idGen == t.gen {
		id := t.id
		t.mu.Unlock()
		return id, nil
	}
	gen := t.gen
	t.mu.Unlock()

	ident, err := t.ops.Identity(ctx, e)
	if err != nil {
		return 0, fmt.Errorf("modemid: reading the identity: %w", err)
	}
	if ident.IMEI == "" || ident.IMSI == "" {
		return 0, fmt.Errorf("modemid: IMEI %q, IMSI %q: %w", ident.IMEI, ident.IMSI, ErrUnidentified)
	}
	id, err := t.st.UpsertModem(ctx, store.ModemIdentity{IMSI: ident.IMSI, ICCID: ident.ICCID, IMEI: ident.IMEI, Name: t.name})
	if err != nil {
		return 0, fmt.Errorf("modemid: recording the modem: %w", err)
	}
	t.mu.Lock()
	if t.gen == gen { // not invalidated while reading: cache it
		t.id, t.idGen, t.idCached = id, gen, true
	}
	t.mu.Unlock()
	return id, nil
}
