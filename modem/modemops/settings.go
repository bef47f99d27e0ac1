package modemops

import (
	"context"
	"fmt"
	"strings"
)

// The modem's state after every (re)connect, and after a raw command that
// changed it, is brought back by one sequence (Init, Restore):
//
//  1. at.Engine.Recover: ESC CR first (an SMS prompt left open by a client
//     that died between AT+CMGS=<n> and the body is cancelled without
//     sending, and no later line becomes message text), then
//     ATQ0V1E0S7=<n> and the probe ATS7?: result codes on and verbose
//     whatever ATQ1/ATV0 left, echo off, and the engine in step with the
//     modem's answers (a stray final of the cancelled prompt is sorted
//     out as late).
//  2. The settings the api relies on, which must succeed: +CMEE=1 (numeric
//     +CME/+CMS errors, which httpapi maps), +CMGF=0 (PDU mode: every SMS
//     is a PDU).
//  3. The settings that need the SIM, which may fail while it waits for its
//     PIN (logged, repeated after the PIN): +CSCS="GSM" (USSD and other
//     strings), +CNMI=2,1,0,2,0 (new messages stored and indicated
//     with +CMTI, status reports stored in SR and indicated with +CDSI:
//     the modem's storage is the buffer the inbox sweeps, see package
//     inbox), +CPMS="SM","SM","SM" (the SIM's store).
//  4. A read-back of what sending depends on: +CMGF? must say 0 and
//     +CMEE? 1, else the init fails (and the session retries). Whether
//     the radio is on (+CFUN?) and the SIM ready (+CPIN?) are read by
//     every status poll and decide readiness, not the init: a modem
//     with its radio off is reachable, just not ready.

// Init is the modem's init sequence after every (re)connect (see above).
func (o *Ops) Init(ctx context.Context, e AT) error {
	if err := e.Recover(ctx); err != nil {
		return fmt.Errorf("init: clear the modem's state: %w", err)
	}
	return o.settings(ctx, e)
}

// Restore brings the api's settings back after a raw command changed them:
// the init sequence on the running session. On failure the settings are
// marked stale and the next status read restores them before anything else.
func (o *Ops) Restore(ctx context.Context, e AT) error {
	if err := o.Init(ctx, e); err != nil {
		o.stale.Store(true)
		return fmt.Errorf("restore the api's modem settings: %w", err)
	}
	o.stale.Store(false)
	return nil
}

// restoreIfStale restores the settings if an earlier restore failed.
func (o *Ops) restoreIfStale(ctx context.Context, e AT) error {
	if !o.stale.Load() {
		return nil
	}
	return o.Restore(ctx, e)
}

// settings runs steps 2–4 of the sequence.
func (o *Ops) settings(ctx context.Context, e AT) error {
	for _, c := range []string{"+CMEE=1", "+CMGF=0"} {
		if _, err := o.cmd(ctx, e, c); err != nil {
			return fmt.Errorf("init AT%s: %w", c, err)
		}
	}
	if err := o.initSIM(ctx, e); err != nil {
		return err
	}
	for _, v := range []struct{ name, want string }{{"+CMGF", "0"}, {"+CMEE", "1"}} {
		r, err := o.cmd(ctx, e, v.name+"?")
		if err != nil {
			return fmt.Errorf("init: read back AT%s?: %w", v.name, err)
		}
		if got, _ := r.Value(v.name); strings.TrimSpace(got) != v.want {
			return fmt.Errorf("init: AT%s? answers %q after AT%s=%s", v.name, got, v.name, v.want)
		}
	}
	return nil
}

// initSIM runs the SIM-dependent settings. Modem errors are logged, not
// returned; a lost connection is returned.
func (o *Ops) initSIM(ctx context.Context, e AT) error {
	for _, c := range []string{`+CSCS="GSM"`, "+CNMI=2,1,0,2,0", `+CPMS="SM","SM","SM"`} {
		if _, err := o.cmd(ctx, e, c); err != nil {
			if fatal(err) {
				return fmt.Errorf("init AT%s: %w", c, err)
			}
			o.log.Warn("modem init: setting failed (the SIM may need its PIN)", "command", "AT"+c, "err", err)
		}
	}
	return nil
}
