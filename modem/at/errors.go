package at

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Errors returned by the engine wrap them with context;
// test with errors.Is.
var (
	// ErrClosed: the engine has stopped (Close, its context, or a read or
	// write error on the stream). The owner creates a new engine on a new
	// connection.
	ErrClosed = errors.New("at: engine closed")
	// ErrDeadlineExceeded: the modem did not finish the command (or give
	// the prompt) within the command's timeout. The engine is then out of
	// sync and resynchronises before the next command.
	ErrDeadlineExceeded = errors.New("at: deadline exceeded")
	// ErrError: the modem answered the plain ERROR final result code.
	ErrError = errors.New("at: ERROR")
	// ErrOutOfSync: a resynchronisation after an earlier timeout failed
	// (the modem did not answer the probe); the command was not sent.
	ErrOutOfSync = errors.New("at: modem out of sync")
	// ErrPrompt: an SMS command was answered with OK instead of the "> "
	// prompt, so the body was not sent.
	ErrPrompt = errors.New("at: no prompt")
	// ErrBodyUnconfirmed wraps the cause (ErrDeadlineExceeded, ErrClosed,
	// a context error) when an SMS command's body went to the modem but
	// its final result code did not come: the modem may have sent the
	// message. The engine never wraps the modem's own final answer with it.
	ErrBodyUnconfirmed = errors.New("at: body written, no final result")
)

// CMEError is a +CME ERROR final result code (3GPP TS 27.007 §9.2): a
// failure of the mobile equipment, network or SIM.
type CMEError struct {
	// Code is the numeric <err>; -1 if the modem gave a verbose text
	// that is not in the table.
	Code int
	// Name is the verbose text of TS 27.007 §9.2 for Code, or the text
	// the modem sent if the code is unknown; "" if neither is known.
	Name string
}

func (e *CMEError) Error() string { return formatCode("+CME ERROR", e.Code, e.Name) }

// CMSError is a +CMS ERROR final result code (3GPP TS 27.005 §3.2.5): a
// failure of the message service, including the network's RP and TP cause
// values 0–255 (TS 24.011 Annex E-2, TS 23.040 §9.2.3.22).
type CMSError struct {
	// Code is the numeric <err>; -1 if the modem gave a verbose text
	// that is not in the table.
	Code int
	// Name is the text for Code (see CMEError.Name).
	Name string
}

func (e *CMSError) Error() string { return formatCode("+CMS ERROR", e.Code, e.Name) }

// FinalError is a V.250 final result code of a call or data connection
// (NO CARRIER, BUSY, NO ANSWER, NO DIALTONE). An SMS modem sends them
// only to dial commands.
type FinalError struct {
	Result string
}

func (e *FinalError) Error() string { return "at: " + e.Result }

func formatCode(kind string, code int, name string) string {
	var b strings.Builder
	b.WriteString("at: ")
	b.WriteString(kind)
	b.WriteString(": ")
	if code >= 0 {
		b.WriteString(strconv.Itoa(code))
		if name != "" {
			b.WriteString(" (" + name + ")")
		}
		return b.String()
	}
	if name == "" {
		name = "?"
	}
	b.WriteString(name)
	return b.String()
}

// ParseCMEError decodes the <err> of a +CME ERROR in numeric ("10") or
// verbose ("SIM not inserted") form; both give the same Code and Name.
func ParseCMEError(arg string) *CMEError {
	code, name := decode(arg, cmeNames, cmeCodes)
	return &CMEError{Code: code, Name: name}
}

// ParseCMSError decodes the <err> of a +CMS ERROR in numeric ("330") or
// verbose ("SMSC address unknown") form; both give the same Code and Name.
func ParseCMSError(arg string) *CMSError {
	code, name := decode(arg, cmsNames, cmsCodes)
	return &CMSError{Code: code, Name: name}
}

// CMEName returns the TS 27.007 text of a +CME ERROR code, "" if unknown.
func CMEName(code int) string { return cmeNames[code] }

// CMSName returns the TS 27.005 / TS 24.011 text of a +CMS ERROR code,
// "" if unknown.
func CMSName(code int) string { return cmsNames[code] }

// decode maps arg to a code and name using a code→name table and its
// reverse (normalised name→code, aliases included).
func decode(arg string, names map[int]string, codes map[string]int) (int, string) {
	arg = strings.TrimSpace(arg)
	if n, err := strconv.Atoi(arg); err == nil && n >= 0 && len(arg) <= 6 {
		return n, names[n]
	}
	if code, ok := codes[normalize(arg)]; ok {
		return code, names[code]
	}
	return -1, arg
}

// normalize folds a verbose error text for lookup: lower case, letters and
// digits kept, every other run of characters one space ("Network not
// allowed, emergency calls only" and "network not allowed - emergency
// calls only" meet).
func normalize(s string) string {
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
			fallthrough
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteByte(c)
		default:
			space = true
		}
	}
	return b.String()
}

// reverse builds the normalised name→code table of names plus aliases.
func reverse(names map[int]string, aliases map[string]int) map[string]int {
	m := make(map[string]int, len(names)+len(aliases))
	for code, name := range names {
		k := normalize(name)
		if old, ok := m[k]; !ok || code < old {
			m[k] = code // the lowest code wins, whatever the map order
		}
	}
	for name, code := range aliases {
		m[normalize(name)] = code
	}
	return m
}

// SIMNotReady reports whether err is the modem saying that the SIM cannot
// be used now: +CME ERROR 10–18 (SIM not inserted, PIN or PUK required,
// SIM failure, busy or wrong, PIN2 or PUK2 required; TS 27.007 §9.2.1) or
// +CMS ERROR 310–318 (the same for the message service; TS 27.005
// §3.2.5), the answer of AT+CMGS while the SIM waits for its PIN.
func SIMNotReady(err error) bool {
	var cme *CMEError
	var cms *CMSError
	switch {
	case errors.As(err, &cme):
		return cme.Code >= 10 && cme.Code <= 18
	case errors.As(err, &cms):
		return cms.Code >= 310 && cms.Code <= 318
	}
	return false
}

// Answered reports whether err is the modem's own error answer to the
// command (ERROR, +CME ERROR, +CMS ERROR): the modem is talking and in
// step, the command failed. Anything else (a timeout, a closed engine, an
// engine out of sync, a context error) means the modem did not answer.
func Answered(err error) bool {
	var cme *CMEError
	var cms *CMSError
	return errors.Is(err, ErrError) || errors.As(err, &cme) || errors.As(err, &cms)
}

// CMSCode returns the code of a +CMS ERROR answer (TS 27.005 §3.2.5), or
// false if err is no such answer.
func CMSCode(err error) (int, bool) {
	var cms *CMSError
	if errors.As(err, &cms) {
		return cms.Code, true
	}
	return 0, false
}

// InvalidIndex reports whether err is +CMS ERROR 321, invalid memory
// index (TS 27.005 §3.2.5): nothing is stored at the index that AT+CMGR,
// AT+CMSS or AT+CMGD named (already deleted, or never written).
func InvalidIndex(err error) bool {
	code, ok := CMSCode(err)
	return ok && code == 321
}
