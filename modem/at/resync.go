package at

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// resyncProbeRegister is the S-parameter the resync probe writes and
// reads back: S7 (V.250 §6.3.x, connection completion timeout) matters
// only to data calls, which an SMS modem never makes, and takes any
// value 1–255.
const resyncProbeRegister = "S7"

// RecoveryLine is the basic commands the resync line starts with, which
// restore the framing the engine understands: result codes on (Q0),
// verbose result codes (V1), echo off (E0).
const RecoveryLine = "Q0V1E0"

// minNonce is the least probe value: above the numeric result codes 0–9
// of ATV0, which are taken as finals while out of sync.
const minNonce = 10

// Resync brings the engine back in step with the modem after a command
// was abandoned; commands call it themselves, the owner may call it to do
// the work early (e.g. right after a timeout, off the request path). It
// is a no-op while the engine is in sync. Recover runs the same sequence
// unconditionally (on a new connection, or after a command that may have
// changed the modem's framing).
//
// How it works, and why it is safe: a V.250 modem executes one command
// line at a time, in the order received, and writes each line's response
// before it executes the next. After a timeout the answer of the
// abandoned line may still come, at any time, and a final result code
// does not say which command it ends — OK is OK. So the engine puts a
// line whose answer can be recognised behind everything it sent before:
//
//  1. ESC CR, always: ESC cancels an SMS prompt that may be open, without
//     sending (the modem then answers the cancelled AT+CMGS with a final
//     result code); with no prompt open, ESC CR is a line without "AT",
//     which the modem ignores. A half-typed line of someone else is not
//     the engine's to clear: the relay never forwards a departing
//     client's unterminated bytes.
//  2. It waits a little for the finals still owed (one per line sent) so
//     that the modem is idle before new input arrives.
//  3. It sends ATQ0V1E0S7=<n> with a fresh random n (10–255, never the
//     previous one): result codes on (Q0) and verbose (V1), whatever ATQ1
//     or ATV0 left behind, echo off (E0), and the probe register S7. The
//     modem answers that line in the restored framing. It then reads
//     ATS7?. The information text "<n>" can only be the answer to that
//     read, so everything before it is late output of earlier lines
//     (delivered to the default handler, marked Late) and the first final
//     result code after it is the read's own. From then on every final
//     belongs to the next command again.
//
// While out of sync the engine also takes the numeric result codes "0"
// (OK) and "4" (ERROR) of a modem in ATV0 as finals (for the owed count
// only); n is at least 10, so no numeric result code can pass for the
// probe's answer.
//
// If the probe's answer does not come within the resync timeout (modem
// hung, or still busy), the engine stays out of sync and the next command
// tries again; stale nonces of earlier attempts never match, since each
// attempt's read follows its own set. URCs are routed as usual throughout.
func (e *Engine) Resync(ctx context.Context) error {
	if err := e.fifo.acquire(ctx, e.stopped); err != nil {
		return err
	}
	defer e.fifo.release()
	return e.resyncIfNeeded(ctx)
}

// Recover clears whatever state the modem may be in and brings the engine
// in step with it, even if the engine believes it is in sync: the Resync
// sequence (ESC CR, ATQ0V1E0S7=<n>, ATS7?) run unconditionally. Run it
// first on a new connection (the previous client may have left the modem
// at the SMS prompt, in ATV0 or ATQ1, or with echo on) and after a
// command that may have changed the modem's framing. On failure the
// engine stays out of sync and the next command tries again.
func (e *Engine) Recover(ctx context.Context) error {
	if err := e.fifo.acquire(ctx, e.stopped); err != nil {
		return err
	}
	defer e.fifo.release()
	e.mu.Lock()
	e.outOfSync, e.dirty = true, true
	e.mu.Unlock()
	return e.resyncIfNeeded(ctx)
}

// InSync reports whether the engine is in step with the modem: false
// after a command timed out or was cancelled until a resync succeeds
// (the modem did not answer, or may still be answering).
func (e *Engine) InSync() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.outOfSync
}

// resyncIfNeeded resyncs if the engine is out of sync. The caller holds
// the fifo.
func (e *Engine) resyncIfNeeded(ctx context.Context) error {
	e.mu.Lock()
	need := e.outOfSync
	e.mu.Unlock()
	if !need {
		return nil
	}
	start := time.Now()
	err := e.resync(ctx)
	if err != nil {
		err = fmt.Errorf("%w: resync: %w", ErrOutOfSync, err)
	}
	e.observe("resync", start, err)
	if err == nil {
		e.log.Info("at: resynchronised", "took", time.Since(start))
	} else {
		e.log.Warn("at: resync failed", "err", err)
	}
	return err
}

func (e *Engine) resync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.resyncTimeout)
	defer cancel()
	deadline, _ := ctx.Deadline()
	step := time.Until(deadline) / 4

	e.mu.Lock()
	n := e.lastNonce
	for n == e.lastNonce {
		n = minNonce + rand.IntN(256-minNonce)
	}
	e.lastNonce = n
	e.mu.Unlock()

	if err := e.write([]byte{0x1b, '\r'}); err != nil {
		return err
	}
	e.waitOwed(ctx, step)
	e.mu.Lock()
	e.owed++
	e.epoch++
	e.mu.Unlock()
	if err := e.write([]byte("AT" + RecoveryLine + resyncProbeRegister + "=" + strconv.Itoa(n) + "\r")); err != nil {
		return err
	}
	e.waitOwed(ctx, step)

	probe := &request{line: "AT" + resyncProbeRegister + "?", nonce: n}
	_, err := e.exchange(ctx, probe, cmdConfig{timeout: time.Until(deadline)})
	if err != nil {
		return err
	}
	e.mu.Lock()
	e.outOfSync, e.dirty, e.owed = false, false, 0
	e.mu.Unlock()
	return nil
}

// waitOwed waits up to d (or ctx) until no final result code is owed.
func (e *Engine) waitOwed(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		e.mu.Lock()
		owed := e.owed
		e.mu.Unlock()
		if owed == 0 {
			return
		}
		select {
		case <-e.owedc:
		case <-t.C:
			return
		case <-ctx.Done():
			return
		case <-e.stopped:
			return
		}
	}
}
