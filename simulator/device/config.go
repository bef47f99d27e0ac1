package device

import (
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Profile selects how fast the simulated modem answers.
type Profile int

// Profiles.
const (
	// ProfileInstant answers at once: no sleeps at all, for fast tests.
	ProfileInstant Profile = iota
	// ProfileRealistic sleeps like a real stick, with delays drawn from
	// the seeded random source: AT+CMGS and AT+CMSS take 2–5 s, AT+COPS=?
	// 8–15 s, AT+CPIN=<pin> 0.3–1 s, a USSD answer 1–3 s, a status report
	// 1–4 s after the submission, other commands 10–60 ms.
	ProfileRealistic
)

// String returns "instant" or "realistic".
func (p Profile) String() string {
	switch p {
	case ProfileInstant:
		return "instant"
	case ProfileRealistic:
		return "realistic"
	}
	return fmt.Sprintf("Profile(%d)", int(p))
}

// ParseProfile parses "instant" or "realistic" (any letter case).
func ParseProfile(s string) (Profile, error) {
	switch strings.ToLower(s) {
	case "instant":
		return ProfileInstant, nil
	case "realistic":
		return ProfileRealistic, nil
	}
	return 0, fmt.Errorf("device: unknown profile %q: want \"instant\" or \"realistic\"", s)
}

// Defaults used for the zero fields of Config.
const (
	DefaultManufacturer = "ZTE CORPORATION"
	DefaultModel        = "MF831"
	DefaultRevision     = "BD_HOFATMF831V1.0.0B02"
	DefaultIMEI         = "866948015551230"      // 15 digits, valid Luhn check digit
	DefaultIMSI         = "232031234567890"      // MCC 232 (Austria), MNC 03
	DefaultICCID        = "89430310005551234567" // 20 digits, valid Luhn check digit
	DefaultMSISDN       = "+436641234567"
	DefaultSMSC         = "+4365009000000"
	DefaultSMCapacity   = 30
	DefaultMECapacity   = 100
	DefaultSRCapacity   = 20
	DefaultPIN          = "1234"
	DefaultPUK          = "12345678"
)

// DefaultNetwork is the network the modem is registered on when
// Config.Network is nil: home network, LTE, good signal.
var DefaultNetwork = Network{
	RSSI: 20, BER: 99, Reg: 1,
	Operator: "Magenta", OperatorNumeric: "23203", AcT: 7,
	LAC: "1A2B", CI: "01A2B3C4",
}

// Config configures a Device. The zero value is a working MF831 with an
// unlocked SIM, registered on LTE, in the instant profile.
type Config struct {
	// Profile selects the timing; the zero value is ProfileInstant.
	Profile Profile
	// Seed seeds all randomness (first message reference, delays,
	// noise): the same seed gives the same run.
	Seed int64
	// Logger receives every command line received and every response
	// sent (level Info, bytes escaped as \r \n \xHH), URCs and control
	// actions; nil discards.
	Logger *slog.Logger
	// Clock gives the time for SCTS time stamps, transcript and sent log;
	// nil means time.Now.
	Clock func() time.Time

	// Identity; "" selects the Default* value.
	Manufacturer string
	Model        string
	Revision     string
	IMEI         string // 15 digits
	IMSI         string // up to 15 digits
	ICCID        string // 19 or 20 digits
	MSISDN       string // own number shown by AT+CNUM; "" with NoMSISDN shows none

	// NoMSISDN makes AT+CNUM list no number (many SIMs do not store it).
	NoMSISDN bool

	// SMSC is the service centre address stored on the SIM (AT+CSCA);
	// "" selects DefaultSMSC unless NoSMSC is set.
	SMSC string
	// NoSMSC starts with no service centre address, so that sending
	// fails with +CMS ERROR: 330 until AT+CSCA sets one.
	NoSMSC bool

	// Store capacities; 0 selects the default.
	SMCapacity int // SIM message store "SM"
	MECapacity int // modem message store "ME"
	SRCapacity int // status report store "SR"

	// PIN and PUK of the SIM; "" selects the default.
	PIN string
	PUK string
	// SIM is the SIM state at creation; "" means SIMReady.
	SIM SIMState

	// Network is the initial network state; nil selects DefaultNetwork.
	Network *Network

	// USSD is the scripted USSD service; nil selects DefaultUSSD().
	USSD *USSDService
}

func (c Config) withDefaults() Config {
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&c.Manufacturer, DefaultManufacturer)
	def(&c.Model, DefaultModel)
	def(&c.Revision, DefaultRevision)
	def(&c.IMEI, DefaultIMEI)
	def(&c.IMSI, DefaultIMSI)
	def(&c.ICCID, DefaultICCID)
	if !c.NoMSISDN {
		def(&c.MSISDN, DefaultMSISDN)
	}
	if !c.NoSMSC {
		def(&c.SMSC, DefaultSMSC)
	}
	def(&c.PIN, DefaultPIN)
	def(&c.PUK, DefaultPUK)
	if c.SMCapacity == 0 {
		c.SMCapacity = DefaultSMCapacity
	}
	if c.MECapacity == 0 {
		c.MECapacity = DefaultMECapacity
	}
	if c.SRCapacity == 0 {
		c.SRCapacity = DefaultSRCapacity
	}
	if c.SIM == "" {
		c.SIM = SIMReady
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Clock == nil {
		c.Clock = time.Now
	}
	return c
}

func (c Config) validate() error {
	digits := func(name, v string, min, max int) error {
		if len(v) < min || len(v) > max {
			return fmt.Errorf("device: %s %q: want %d to %d digits", name, v, min, max)
		}
		for _, r := range v {
			if r < '0' || r > '9' {
				return fmt.Errorf("device: %s %q: want digits only", name, v)
			}
		}
		return nil
	}
	if err := digits("IMEI", c.IMEI, 15, 15); err != nil {
		return err
	}
	if err := digits("IMSI", c.IMSI, 6, 15); err != nil {
		return err
	}
	if err := digits("ICCID", c.ICCID, 19, 20); err != nil {
		return err
	}
	if err := digits("PIN", c.PIN, 4, 8); err != nil {
		return err
	}
	if err := digits("PUK", c.PUK, 8, 8); err != nil {
		return err
	}
	for name, n := range map[string]int{"SMCapacity": c.SMCapacity, "MECapacity": c.MECapacity, "SRCapacity": c.SRCapacity} {
		if n < 1 || n > 1000 {
			return fmt.Errorf("device: %s %d: want 1 to 1000", name, n)
		}
	}
	if c.Profile != ProfileInstant && c.Profile != ProfileRealistic {
		return fmt.Errorf("device: unknown profile %d", int(c.Profile))
	}
	if err := validSIMState(c.SIM); err != nil {
		return err
	}
	if c.Network != nil {
		if err := c.Network.validate(); err != nil {
			return err
		}
	}
	return nil
}
