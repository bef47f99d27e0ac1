package device

import (
	"fmt"
	"strconv"
	"strings"
)

// Network is the radio network state the modem sees.
type Network struct {
	RSSI            int    // +CSQ <rssi>: 0..31, 99 unknown
	BER             int    // +CSQ <ber>: 0..7, 99 unknown
	Reg             int    // +CREG <stat>: 0 not registered, 1 home, 2 searching, 3 denied, 4 unknown, 5 roaming
	Operator        string // long alphanumeric name, "Magenta"
	OperatorNumeric string // MCC MNC, "23203"
	AcT             int    // access technology: 0 GSM, 2 UTRAN, 3 EDGE, 4 HSDPA, 5 HSUPA, 6 HSPA, 7 E-UTRAN
	LAC             string // location (LTE: tracking) area code, 4 hex digits, "1A2B"
	CI              string // cell identity, up to 8 hex digits, "01A2B3C4"
}

func (n Network) validate() error {
	if !(n.RSSI >= 0 && n.RSSI <= 31 || n.RSSI == 99) {
		return fmt.Errorf("device: network RSSI %d: want 0..31 or 99", n.RSSI)
	}
	if !(n.BER >= 0 && n.BER <= 7 || n.BER == 99) {
		return fmt.Errorf("device: network BER %d: want 0..7 or 99", n.BER)
	}
	if n.Reg < 0 || n.Reg > 5 {
		return fmt.Errorf("device: network registration status %d: want 0..5", n.Reg)
	}
	switch n.AcT {
	case 0, 2, 3, 4, 5, 6, 7:
	default:
		return fmt.Errorf("device: access technology %d: want 0, 2..7", n.AcT)
	}
	if !isHex(n.LAC, 1, 4) {
		return fmt.Errorf("device: LAC %q: want 1 to 4 hex digits", n.LAC)
	}
	if !isHex(n.CI, 1, 8) {
		return fmt.Errorf("device: CI %q: want 1 to 8 hex digits", n.CI)
	}
	if n.registered() {
		if n.Operator == "" || strings.ContainsRune(n.Operator, '"') {
			return fmt.Errorf("device: operator name %q: want a non-empty name without quotes", n.Operator)
		}
		if len(n.OperatorNumeric) < 5 || len(n.OperatorNumeric) > 6 || strings.Trim(n.OperatorNumeric, "0123456789") != "" {
			return fmt.Errorf("device: numeric operator %q: want MCC and MNC, 5 or 6 digits", n.OperatorNumeric)
		}
	}
	return nil
}

func (n Network) registered() bool { return n.Reg == 1 || n.Reg == 5 }

func isHex(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	_, err := strconv.ParseUint(s, 16, 32)
	return err == nil
}

// regView is what the registration commands show: the network state as
// seen through the SIM lock, +CFUN and +COPS mode.
type regView struct {
	stat  int // +CREG/+CGREG
	estat int // +CEREG: the same on E-UTRAN, 0 otherwise
	lac   string
	ci    string
	act   int
}

// regView computes the view for session s (nil: power-on settings).
// Device.mu must be held.
func (d *Device) regView(s *session) regView {
	n := d.net
	v := regView{stat: n.Reg, lac: strings.ToUpper(n.LAC), ci: strings.ToUpper(n.CI), act: n.AcT}
	if !d.radioUp(s) {
		v.stat = 0
	}
	if v.act == 7 {
		v.estat = v.stat
	}
	return v
}

// radioUp reports whether the modem can use the network at all: SIM
// unlocked, +CFUN=1, +COPS not deregistered. Device.mu must be held.
func (d *Device) radioUp(s *session) bool {
	if d.sim.state != SIMReady {
		return false
	}
	return s == nil || s.set.cfun == 1 && s.set.copsMod != 2
}

// registered reports whether the modem is registered (home or roaming).
// Device.mu must be held.
func (d *Device) registered(s *session) bool {
	st := d.regView(s).stat
	return st == 1 || st == 5
}

// regLine renders a +CREG/+CGREG/+CEREG status for mode n: with prefix
// "<n>," for the read form (read=true), without it for URCs.
func regLine(name string, n int, stat int, v regView, read bool) string {
	var b strings.Builder
	b.WriteString(name + ": ")
	if read {
		b.WriteString(strconv.Itoa(n) + ",")
	}
	b.WriteString(strconv.Itoa(stat))
	if n == 2 && (stat == 1 || stat == 5) {
		fmt.Fprintf(&b, ",%q,%q,%d", v.lac, v.ci, v.act)
	}
	return b.String()
}

// emitRegChangesLocked queues the +CREG/+CGREG/+CEREG URCs for changes
// since the last report, per their modes. Device.mu must be held.
func (s *session) emitRegChangesLocked() {
	v := s.d.regView(s)
	old := s.lastReg
	if v == old {
		return
	}
	s.lastReg = v
	moved := v.lac != old.lac || v.ci != old.ci || v.act != old.act
	emit := func(name string, n, stat, oldStat int) {
		if n == 1 && stat != oldStat || n == 2 && (stat != oldStat || moved && (stat == 1 || stat == 5)) {
			s.queueURCLocked(regLine(name, n, stat, v, false))
		}
	}
	emit("+CREG", s.set.creg, v.stat, old.stat)
	emit("+CGREG", s.set.cgreg, v.stat, old.stat)
	emit("+CEREG", s.set.cereg, v.estat, old.estat)
}

// zpasMode is the ZTE name of the access technology for +ZPAS/+ZPASR.
func zpasMode(n Network) string {
	switch n.AcT {
	case 0:
		return "GSM"
	case 2:
		return "UMTS"
	case 3:
		return "EDGE"
	case 4:
		return "HSDPA"
	case 5:
		return "HSUPA"
	case 6:
		return "HSPA"
	}
	return "LTE"
}

// knownOperators are the networks AT+COPS=? finds besides the current one.
var knownOperators = []struct {
	long, short, numeric string
	act                  int
}{
	{"A1", "A1", "23201", 7},
	{"Magenta", "Magenta", "23203", 7},
	{"3 AT", "3 AT", "23210", 7},
}
