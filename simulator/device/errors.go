package device

import (
	"errors"
	"fmt"
	"strconv"
)

// ErrBusy is returned by Serve when another session is running.
var ErrBusy = errors.New("device: a session is already running")

// ErrNoSession is returned by control methods that need a running session.
var ErrNoSession = errors.New("device: no session running")

// atKind tells which final result code an AT error produces.
type atKind int

const (
	kindPlain atKind = iota // ERROR whatever +CMEE says
	kindCME                 // +CME ERROR (27.007 §9.2)
	kindCMS                 // +CMS ERROR (27.005 §3.2.5)
)

// atError is a command failure that ends a command line with an error
// result code.
type atError struct {
	kind atKind
	code int
}

func (e *atError) Error() string {
	switch e.kind {
	case kindCME:
		return "+CME ERROR: " + strconv.Itoa(e.code) + " (" + cmeText[e.code] + ")"
	case kindCMS:
		return "+CMS ERROR: " + strconv.Itoa(e.code) + " (" + cmsText[e.code] + ")"
	}
	return "ERROR"
}

func cme(code int) error { return &atError{kind: kindCME, code: code} }
func cms(code int) error { return &atError{kind: kindCMS, code: code} }

// CME error codes (3GPP TS 27.007 §9.2.1).
const (
	cmeNotAllowed     = 3
	cmeNotSupported   = 4
	cmeSIMNotInserted = 10
	cmeSIMPIN         = 11
	cmeSIMPUK         = 12
	cmeSIMFailure     = 13
	cmeWrongPassword  = 16
	cmeNoService      = 30
	cmeNotAllowedNet  = 32
	cmeBadParams      = 50
	cmeUnknown        = 100
)

var cmeText = map[int]string{
	0:                 "phone failure",
	cmeNotAllowed:     "operation not allowed",
	cmeNotSupported:   "operation not supported",
	cmeSIMNotInserted: "SIM not inserted",
	cmeSIMPIN:         "SIM PIN required",
	cmeSIMPUK:         "SIM PUK required",
	cmeSIMFailure:     "SIM failure",
	14:                "SIM busy",
	cmeWrongPassword:  "incorrect password",
	20:                "memory full",
	21:                "invalid index",
	cmeNoService:      "no network service",
	31:                "network timeout",
	cmeNotAllowedNet:  "network not allowed - emergency calls only",
	cmeBadParams:      "incorrect parameters",
	cmeUnknown:        "unknown",
}

// CMS error codes (3GPP TS 27.005 §3.2.5).
const (
	cmsMEFailure      = 300
	cmsNotAllowed     = 302
	cmsNotSupported   = 303
	cmsBadPDUParam    = 304
	cmsBadTextParam   = 305
	cmsSIMNotInserted = 310
	cmsSIMPIN         = 311
	cmsSIMFailure     = 313
	cmsSIMPUK         = 316
	cmsInvalidIndex   = 321
	cmsMemoryFull     = 322
	cmsSMSCUnknown    = 330
	cmsNoService      = 331
	cmsNoCNMA         = 340
	cmsUnknown        = 500
)

var cmsText = map[int]string{
	cmsMEFailure:      "ME failure",
	301:               "SMS service of ME reserved",
	cmsNotAllowed:     "operation not allowed",
	cmsNotSupported:   "operation not supported",
	cmsBadPDUParam:    "invalid PDU mode parameter",
	cmsBadTextParam:   "invalid text mode parameter",
	cmsSIMNotInserted: "SIM not inserted",
	cmsSIMPIN:         "SIM PIN required",
	312:               "PH-SIM PIN required",
	cmsSIMFailure:     "SIM failure",
	314:               "SIM busy",
	315:               "SIM wrong",
	cmsSIMPUK:         "SIM PUK required",
	320:               "memory failure",
	cmsInvalidIndex:   "invalid memory index",
	cmsMemoryFull:     "memory full",
	cmsSMSCUnknown:    "SMSC address unknown",
	cmsNoService:      "no network service",
	332:               "network timeout",
	cmsNoCNMA:         "no +CNMA acknowledgement expected",
	cmsUnknown:        "unknown error",
}

// Generic failures: errUnknown for unknown commands, forms and syntax
// errors (+CME ERROR: 100 with CMEE≥1, as the ZTE MF710 answers), and
// errParams for parameter values out of range (+CME ERROR: 50).
var (
	errUnknown = cme(cmeUnknown)
	errParams  = cme(cmeBadParams)
)

// finalError renders the final result code of err for the given +CMEE mode
// (without framing).
func finalError(err error, cmee int) string {
	var ae *atError
	if !errors.As(err, &ae) || ae.kind == kindPlain || cmee == 0 {
		return "ERROR"
	}
	prefix := "+CME ERROR: "
	texts := cmeText
	if ae.kind == kindCMS {
		prefix = "+CMS ERROR: "
		texts = cmsText
	}
	if cmee == 2 {
		if t, ok := texts[ae.code]; ok {
			return prefix + t
		}
	}
	return prefix + strconv.Itoa(ae.code)
}

// wrapf wraps a Go error with context.
func wrapf(err error, format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, err)...)
}
