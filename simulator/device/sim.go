package device

import (
	"fmt"
	"strings"

	"github.com/sim-modem-api/sim-modem-api/simulator/atcmd"
)

// SIMState is the state of the SIM card.
type SIMState string

// SIM states.
const (
	SIMReady   SIMState = "ready"   // unlocked
	SIMPIN     SIMState = "pin"     // SIM PIN required (3 attempts)
	SIMPUK     SIMState = "puk"     // SIM PUK required (10 attempts)
	SIMAbsent  SIMState = "absent"  // no SIM inserted (+CME ERROR: 10)
	SIMBlocked SIMState = "blocked" // PUK attempts used up: the SIM is dead (+CME ERROR: 13)
)

// Attempts a SIM allows.
const (
	PINAttempts = 3
	PUKAttempts = 10
)

func validSIMState(st SIMState) error {
	switch st {
	case SIMReady, SIMPIN, SIMPUK, SIMAbsent, SIMBlocked:
		return nil
	}
	return fmt.Errorf("device: unknown SIM state %q: want ready, pin, puk, absent or blocked", st)
}

// simCard is the SIM lock state.
type simCard struct {
	state   SIMState
	pin     string
	puk     string
	pinLeft int
	pukLeft int
}

func newSIMCard(st SIMState, pin, puk string) simCard {
	c := simCard{state: st, pin: pin, puk: puk, pinLeft: PINAttempts, pukLeft: PUKAttempts}
	if st == SIMPUK {
		c.pinLeft = 0
	}
	return c
}

// readyCME returns the +CME ERROR for a command that needs the SIM, or nil.
func (c *simCard) readyCME() error {
	switch c.state {
	case SIMAbsent:
		return cme(cmeSIMNotInserted)
	case SIMPIN:
		return cme(cmeSIMPIN)
	case SIMPUK:
		return cme(cmeSIMPUK)
	case SIMBlocked:
		return cme(cmeSIMFailure)
	}
	return nil
}

// readyCMS returns the +CMS ERROR for an SMS command, or nil.
func (c *simCard) readyCMS() error {
	switch c.state {
	case SIMAbsent:
		return cms(cmsSIMNotInserted)
	case SIMPIN:
		return cms(cmsSIMPIN)
	case SIMPUK:
		return cms(cmsSIMPUK)
	case SIMBlocked:
		return cms(cmsSIMFailure)
	}
	return nil
}

// cmdCPIN: read "+CPIN: READY" / "SIM PIN" / "SIM PUK"; set
// AT+CPIN="<pin>" or AT+CPIN="<puk>","<newpin>"; test OK.
func cmdCPIN(s *session, c atcmd.Command) ([]string, error) {
	sim := &s.d.sim
	switch c.Form {
	case atcmd.Test:
		return nil, nil
	case atcmd.Read:
		switch sim.state {
		case SIMReady:
			return []string{"+CPIN: READY"}, nil
		case SIMPIN:
			return []string{"+CPIN: SIM PIN"}, nil
		case SIMPUK:
			return []string{"+CPIN: SIM PUK"}, nil
		}
		return nil, sim.readyCME()
	case atcmd.Set:
	default:
		return nil, errUnknown
	}
	ps, err := params(c, 1, 2)
	if err != nil {
		return nil, err
	}
	code := ps[0].Value
	s.pendingDelay += s.d.delay(300e6, 1e9)
	switch sim.state {
	case SIMAbsent, SIMBlocked:
		return nil, sim.readyCME()
	case SIMReady:
		return nil, cme(cmeNotAllowed) // no PIN request pending (27.007 §8.3)
	case SIMPIN:
		if code != sim.pin {
			sim.pinLeft--
			if sim.pinLeft <= 0 {
				sim.pinLeft = 0
				sim.state = SIMPUK
			}
			s.d.log.Info("wrong PIN", "attempts left", sim.pinLeft)
			return nil, cme(cmeWrongPassword)
		}
		sim.state, sim.pinLeft = SIMReady, PINAttempts
		return nil, nil
	}
	// SIM PUK: the PUK and a new PIN.
	if len(ps) != 2 || !validPIN(ps[1].Value) {
		return nil, errParams
	}
	if code != sim.puk {
		sim.pukLeft--
		if sim.pukLeft <= 0 {
			sim.pukLeft = 0
			sim.state = SIMBlocked
		}
		s.d.log.Info("wrong PUK", "attempts left", sim.pukLeft)
		return nil, cme(cmeWrongPassword)
	}
	sim.pin = ps[1].Value
	sim.state, sim.pinLeft, sim.pukLeft = SIMReady, PINAttempts, PUKAttempts
	return nil, nil
}

func validPIN(p string) bool {
	return len(p) >= 4 && len(p) <= 8 && strings.Trim(p, "0123456789") == ""
}

// cmdZPINPUK: ZTE remaining attempts, "+ZPINPUK: <pin>,<puk>" (read and
// exec forms; ModemManager's ZTE plugin uses it).
func cmdZPINPUK(s *session, c atcmd.Command) ([]string, error) {
	switch c.Form {
	case atcmd.Read, atcmd.Exec, atcmd.Test:
		if s.d.sim.state == SIMAbsent {
			return nil, cme(cmeSIMNotInserted)
		}
		return []string{fmt.Sprintf("+ZPINPUK: %d,%d", s.d.sim.pinLeft, s.d.sim.pukLeft)}, nil
	}
	return nil, errUnknown
}

// cmdCFUN: +CFUN=<fun>[,<rst>] with fun 0 (minimum), 1 (full), 4 (radio
// off); read "+CFUN: <fun>"; test "+CFUN: (0,1,4),(0-1)".
func cmdCFUN(s *session, c atcmd.Command) ([]string, error) {
	switch c.Form {
	case atcmd.Read:
		return []string{"+CFUN: " + itoa(s.set.cfun)}, nil
	case atcmd.Test:
		return []string{"+CFUN: (0,1,4),(0-1)"}, nil
	case atcmd.Set:
		ps, err := params(c, 1, 2)
		if err != nil {
			return nil, err
		}
		fun, err := intParam(ps, 0, 0, 4, 1)
		if err != nil || fun == 2 || fun == 3 {
			return nil, errParams
		}
		if _, err := intParam(ps, 1, 0, 1, 0); err != nil {
			return nil, err
		}
		s.set.cfun = fun
		return nil, nil
	}
	return nil, errUnknown
}
