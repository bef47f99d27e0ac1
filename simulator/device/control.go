package device

import (
	"fmt"
	"time"
)

// Network returns the network state.
func (d *Device) Network() Network {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.net
}

// SetNetwork validates and sets the network state. A running session
// emits +CREG/+CGREG/+CEREG URCs per their modes (1: when the status
// changes; 2: also when the location or access technology changes).
func (d *Device) SetNetwork(n Network) error {
	if err := n.validate(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.net = n
	d.log.Info("control: network", "network", fmt.Sprintf("%+v", n))
	d.afterChangeLocked()
	return nil
}

// afterChangeLocked emits the URCs that follow a control change.
// Device.mu must be held.
func (d *Device) afterChangeLocked() {
	if d.sess != nil {
		d.sess.emitRegChangesLocked()
	}
	d.retryWaitingLocked()
}

// SetSIM sets the SIM state: ready; pin (SIM PIN required, 3 attempts);
// puk (SIM PUK required, 10 attempts); absent (+CME ERROR: 10); blocked
// (+CME ERROR: 13). The attempt counters are reset.
func (d *Device) SetSIM(state SIMState) error {
	if err := validSIMState(state); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sim = newSIMCard(state, d.sim.pin, d.sim.puk)
	d.log.Info("control: SIM", "state", state)
	d.afterChangeLocked()
	return nil
}

// SIM returns the SIM state and the PIN and PUK attempts left.
func (d *Device) SIM() (state SIMState, pinAttempts, pukAttempts int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sim.state, d.sim.pinLeft, d.sim.pukLeft
}

// Faults are misbehaviours that can be switched on at any time.
type Faults struct {
	// Hang: read and swallow input, answer nothing (no echo, no URCs).
	Hang bool
	// Delay is added before every response.
	Delay time.Duration
	// NoiseRate (0..1) is the probability that 1–8 random bytes (from the
	// seeded source) are written after a response.
	NoiseRate float64
	// InterleaveURC puts a +ZPASR URC after the first line of every
	// response of two or more lines (counting the final result code), as
	// real sticks do now and then.
	InterleaveURC bool
	// DropEcho suppresses the echo even with ATE1.
	DropEcho bool
	// SubmitError, if not 0, is the network's refusal of every submission
	// (AT+CMGS, AT+CMSS) while registered: +CMS ERROR <SubmitError>, an RP
	// cause (1–127, TS 24.011 Annex E-2, e.g. 1 unassigned number, 21
	// transfer rejected, 41 temporary failure) or a TP-FCS (128–255,
	// TS 23.040 §9.2.3.22). The stored copy of AT+CMSS stays STO UNSENT.
	SubmitError int
}

// SetFaults replaces the faults. NoiseRate is clamped to 0..1 and a
// negative Delay to 0.
func (d *Device) SetFaults(f Faults) {
	f.NoiseRate = min(max(f.NoiseRate, 0), 1)
	f.Delay = max(f.Delay, 0)
	if f.SubmitError < 0 || f.SubmitError > 255 {
		f.SubmitError = 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = f
	d.log.Info("control: faults", "faults", fmt.Sprintf("%+v", f))
	if d.sess != nil && !f.Hang {
		d.sess.wakeLocked() // flush URCs held back by a hang
	}
}

// Faults returns the faults in effect.
func (d *Device) Faults() Faults {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.faults
}

// InjectURC writes "\r\n"+line+"\r\n" as soon as the line is idle (at
// once, unless a response is being written or the "> " prompt is open).
// It fails with ErrNoSession if no session runs.
func (d *Device) InjectURC(line string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sess == nil {
		return ErrNoSession
	}
	d.sess.queueURCLocked(line)
	return nil
}

// InjectNoise writes b to the port as soon as the line is idle, like
// InjectURC but without framing. It fails with ErrNoSession if no session
// runs.
func (d *Device) InjectNoise(b []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sess == nil {
		return ErrNoSession
	}
	d.sess.noise = append(d.sess.noise, b...)
	d.sess.wakeLocked()
	return nil
}

// Exchange is one command line and its complete response.
type Exchange struct {
	Time     time.Time // when the command line was complete
	Command  string    // the command line as received, without the CR
	Body     string    // text or PDU entered after a "> " prompt; ends in ESC if cancelled
	Response string    // exact bytes written in reply, echo included
}

// Transcript returns the last 10000 exchanges, oldest first. Each
// exchange's response was written without any other bytes in between
// (except URCs of the InterleaveURC fault), so tests can check that
// commands never interleave on the wire.
func (d *Device) Transcript() []Exchange {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Exchange(nil), d.transcript...)
}

// ClearTranscript empties the transcript.
func (d *Device) ClearTranscript() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.transcript = nil
}

// Serving reports whether a session is running.
func (d *Device) Serving() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sess != nil
}
