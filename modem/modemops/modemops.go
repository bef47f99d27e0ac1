// Package modemops holds the high-level modem operations the api offers,
// each a sequence of AT commands on one engine: the init sequence, identity,
// status, sending an SMS (split, PDU-encoded, one AT+CMGS per part with
// pacing between bodies), USSD, SIM PIN entry and raw commands. Nothing
// from a request reaches the AT line except through the PDU encoder, the
// validated USSD/PIN strings, or the admin-only raw path.
//
// The operations run inside scheduler jobs; they never run concurrently.
package modemops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
)

// AT is the part of *at.Engine the operations use.
type AT interface {
	Command(ctx context.Context, cmd string, opts ...at.CommandOption) (at.Response, error)
	SMSCommand(ctx context.Context, cmd, body string, opts ...at.CommandOption) (at.Response, error)
	// Recover clears the modem's state (open prompt, ATV0, ATQ1, echo)
	// and brings the engine in step; see at.Engine.Recover.
	Recover(ctx context.Context) error
}

var _ AT = (*at.Engine)(nil)

// ErrInvalid is wrapped by input errors found before anything is sent.
var ErrInvalid = errors.New("invalid input")

// FieldError is an input error of one request field.
type FieldError struct {
	Field   string
	Message string
	Limit   int // > 0: the value is over this limit (e.g. parts per message)
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Config configures the operations.
type Config struct {
	SMSC           string // "+E.164" written into every PDU; "" uses the modem's (AT+CSCA)
	CommandTimeout time.Duration
	SMSTimeout     time.Duration
	USSDTimeout    time.Duration
	Logger         *slog.Logger
	// MaxParts is the most parts one message may have (1..MaxParts;
	// 0: DefaultMaxParts).
	MaxParts int
}

// Ops runs the operations.
type Ops struct {
	cfg Config
	log *slog.Logger
	// stale: a restore of the api's settings failed (after a raw command
	// that changed them); the next status read restores them first.
	stale atomic.Bool

	mu       sync.Mutex
	ref      uint16
	ussd     chan string // the waiting USSD request's +CUSD value, nil if none
	ussdOpen bool        // a multi-line +CUSD text is being joined
	ussdPart string
}

// New returns Ops.
func New(cfg Config) *Ops {
	if cfg.CommandTimeout <= 0 {
		cfg.CommandTimeout = at.DefaultTimeout
	}
	if cfg.SMSTimeout <= 0 {
		cfg.SMSTimeout = at.DefaultSMSTimeout
	}
	if cfg.USSDTimeout <= 0 {
		cfg.USSDTimeout = 15 * time.Second
	}
	if cfg.MaxParts <= 0 {
		cfg.MaxParts = DefaultMaxParts
	}
	cfg.MaxParts = min(cfg.MaxParts, MaxParts)
	l := cfg.Logger
	if l == nil {
		l = slog.Default()
	}
	return &Ops{cfg: cfg, log: l}
}

func (o *Ops) cmd(ctx context.Context, e AT, c string) (at.Response, error) {
	return e.Command(ctx, c, at.Timeout(o.cfg.CommandTimeout))
}

// fatal reports whether err means the modem is not talking (as opposed to
// a modem error answer).
func fatal(err error) bool {
	var cme *at.CMEError
	var cms *at.CMSError
	return !(errors.Is(err, at.ErrError) || errors.As(err, &cme) || errors.As(err, &cms))
}

// Identity of the modem and its SIM; fields the modem does not answer are "".
type Identity struct {
	Manufacturer     string `json:"manufacturer"`
	Model            string `json:"model"`
	Firmware         string `json:"firmware"`
	IMEI             string `json:"imei"`
	IMSI             string `json:"imsi"`
	ICCID            string `json:"iccid"`
	SubscriberNumber string `json:"subscriberNumber"`
}

// Identity reads the identity. Only a lost connection is an error.
func (o *Ops) Identity(ctx context.Context, e AT) (Identity, error) {
	var id Identity
	var firstErr error
	first := func(c string) string {
		r, err := o.cmd(ctx, e, c)
		if err != nil {
			if fatal(err) && firstErr == nil {
				firstErr = err
			}
			return ""
		}
		for _, l := range r.Lines {
			if l = strings.TrimSpace(l); l != "" {
				if _, v, ok := strings.Cut(l, ":"); ok && strings.HasPrefix(l, "+") {
					return strings.TrimSpace(v)
				}
				return l
			}
		}
		return ""
	}
	id.Manufacturer = first("+CGMI")
	id.Model = first("+CGMM")
	id.Firmware = first("+CGMR")
	id.IMEI = first("+CGSN")
	id.IMSI = first("+CIMI")
	if id.ICCID = first("+ZGETICCID"); id.ICCID == "" {
		id.ICCID = first("+CCID")
	}
	if r, err := o.cmd(ctx, e, "+CNUM"); err == nil {
		if v, ok := r.Value("+CNUM"); ok {
			if f := splitFields(v); len(f) >= 2 {
				id.SubscriberNumber = f[1]
			}
		}
	} else if fatal(err) && firstErr == nil {
		firstErr = err
	}
	return id, firstErr
}

// Status is the modem's state as the poller reads it.
type Status struct {
	SIM              string `json:"sim"` // ready, pin, puk, absent, unknown
	Registration     string `json:"registration"`
	RegistrationCode int    `json:"registrationCode"` // +CREG <stat>, -1 unknown
	Operator         string `json:"operator"`
	AccessTechnology string `json:"accessTechnology"`
	Signal           Signal `json:"signal"`
	// Radio is "on" (+CFUN: 1), "off" (+CFUN: 0 minimum or 4 flight
	// mode, see Functionality) or "unknown".
	Radio         string `json:"radio"`
	Functionality int    `json:"functionality"` // +CFUN <fun>, -1 unknown
	// Storage is the store new messages are received into (+CPMS <mem3>),
	// nil if unknown.
	Storage *Storage `json:"storage,omitempty"`
	// Warnings are conditions that do not stop sending but need a human:
	// a full message store.
	Warnings []string `json:"warnings,omitempty"`
}

// Storage is one message store of +CPMS.
type Storage struct {
	Memory string `json:"memory"` // SM, ME, ...
	Used   int    `json:"used"`
	Total  int    `json:"total"`
}

// Full reports whether no message fits in the store any more.
func (s *Storage) Full() bool { return s != nil && s.Total > 0 && s.Used >= s.Total }

// Signal is AT+CSQ, converted.
type Signal struct {
	CSQ     int  `json:"csq"`     // 0..31, 99 unknown
	RSSIdBm *int `json:"rssiDbm"` // nil if unknown
	BER     *int `json:"ber"`     // RXQUAL class 0..7, nil if unknown
	Bars    int  `json:"bars"`    // 0..4
}

// RegistrationNames are the texts of +CREG <stat>.
var RegistrationNames = map[int]string{
	0: "not_registered", 1: "home", 2: "searching", 3: "denied", 4: "unknown", 5: "roaming",
}

var accessTechnologies = map[string]string{
	"0": "GSM", "1": "GSM Compact", "2": "UTRAN", "3": "GSM/EGPRS", "4": "UTRAN/HSDPA",
	"5": "UTRAN/HSUPA", "6": "UTRAN/HSPA", "7": "E-UTRAN", "8": "EC-GSM-IoT", "9": "E-UTRAN NB-S1",
}

// ReadStatus reads SIM state, signal, registration, operator and access
// technology. Modem error answers leave fields unknown; only a lost
// connection or a timeout is an error.
func (o *Ops) ReadStatus(ctx context.Context, e AT) (Status, error) {
	st := Status{SIM: "unknown", Registration: "unknown", RegistrationCode: -1, Signal: Signal{CSQ: 99}, Radio: "unknown", Functionality: -1}
	if err := o.restoreIfStale(ctx, e); err != nil {
		return st, err
	}
	r, err := o.cmd(ctx, e, "+CPIN?")
	switch {
	case err == nil:
		v, _ := r.Value("+CPIN")
		st.SIM = simState(v)
	case fatal(err):
		return st, err
	default:
		var cme *at.CMEError
		if errors.As(err, &cme) && cme.Code == 10 {
			st.SIM = "absent"
		}
	}
	if r, err = o.cmd(ctx, e, "+CSQ"); err == nil {
		v, _ := r.Value("+CSQ")
		st.Signal = parseCSQ(v)
	} else if fatal(err) {
		return st, err
	}
	for _, c := range []string{"+CREG", "+CEREG"} {
		r, err = o.cmd(ctx, e, c+"?")
		if err != nil {
			if fatal(err) {
				return st, err
			}
			continue
		}
		v, _ := r.Value(c)
		f := splitFields(v)
		if len(f) >= 2 {
			if n, err := strconv.Atoi(f[1]); err == nil && (st.RegistrationCode != 1 && st.RegistrationCode != 5) {
				st.RegistrationCode = n
			}
		}
	}
	if name, ok := RegistrationNames[st.RegistrationCode]; ok {
		st.Registration = name
	}
	if r, err = o.cmd(ctx, e, "+COPS?"); err == nil {
		v, _ := r.Value("+COPS")
		if f := splitFields(v); len(f) >= 3 {
			st.Operator = f[2]
			if len(f) >= 4 {
				st.AccessTechnology = accessTechnologies[f[3]]
			}
		}
	} else if fatal(err) {
		return st, err
	}
	if r, err = o.cmd(ctx, e, "+ZPAS?"); err == nil {
		v, _ := r.Value("+ZPAS")
		if f := splitFields(v); len(f) >= 1 && f[0] != "" && f[0] != "No Service" {
			st.AccessTechnology = f[0]
		}
	} else if fatal(err) {
		return st, err
	}
	if r, err = o.cmd(ctx, e, "+CFUN?"); err == nil {
		v, _ := r.Value("+CFUN")
		if n, err := strconv.Atoi(splitFields(v)[0]); err == nil {
			st.Functionality = n
			st.Radio = "off"
			if n == 1 {
				st.Radio = "on"
			}
		}
	} else if fatal(err) {
		return st, err
	}
	if r, err = o.cmd(ctx, e, "+CPMS?"); err == nil {
		v, _ := r.Value("+CPMS")
		st.Storage = ParseCPMS(v)
		if st.Storage.Full() {
			st.Warnings = append(st.Warnings, fmt.Sprintf("the %s message store is full (%d of %d): new messages are not received until some are deleted", st.Storage.Memory, st.Storage.Used, st.Storage.Total))
		}
	} else if fatal(err) {
		return st, err
	}
	return st, nil
}

// ParseCPMS reads the receive store (<mem3>) of a +CPMS read answer, in
// either form ZTE sticks use: `"SM",0,50,"SM",0,50,"SM",0,50` (names,
// also with spaces after the commas) or `0,50,0,50,0,100` (numbers only).
// It returns nil if the value has neither shape.
func ParseCPMS(v string) *Storage {
	f := splitFields(v)
	num := func(s string) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && n >= 0
	}
	switch len(f) {
	case 9:
		used, ok1 := num(f[7])
		total, ok2 := num(f[8])
		if ok1 && ok2 && f[6] != "" {
			return &Storage{Memory: f[6], Used: used, Total: total}
		}
	case 6:
		used, ok1 := num(f[4])
		total, ok2 := num(f[5])
		if ok1 && ok2 {
			return &Storage{Memory: "mem3", Used: used, Total: total}
		}
	}
	return nil
}

func simState(v string) string {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "READY":
		return "ready"
	case "SIM PIN":
		return "pin"
	case "SIM PUK":
		return "puk"
	}
	return "unknown"
}

func parseCSQ(v string) Signal {
	s := Signal{CSQ: 99}
	f := splitFields(v)
	if len(f) < 2 {
		return s
	}
	rssi, err1 := strconv.Atoi(f[0])
	ber, err2 := strconv.Atoi(f[1])
	if err1 == nil && rssi >= 0 && rssi <= 31 {
		s.CSQ = rssi
		dbm := -113 + 2*rssi
		s.RSSIdBm = &dbm
		switch {
		case rssi < 2:
			s.Bars = 0
		case rssi < 10:
			s.Bars = 1
		case rssi < 15:
			s.Bars = 2
		case rssi < 20:
			s.Bars = 3
		default:
			s.Bars = 4
		}
	}
	if err2 == nil && ber >= 0 && ber <= 7 {
		s.BER = &ber
	}
	return s
}

// splitFields splits a comma-separated parameter list, removing quotes;
// commas inside quotes do not split.
func splitFields(s string) []string {
	var out []string
	var b strings.Builder
	inQ := false
	for _, r := range s {
		switch {
		case r == '"':
			inQ = !inQ
		case r == ',' && !inQ:
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteRune(r)
		}
	}
	return append(out, strings.TrimSpace(b.String()))
}
