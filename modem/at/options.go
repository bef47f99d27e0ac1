package at

import (
	"io"
	"log/slog"
	"time"
)

// Default timeouts.
const (
	// DefaultTimeout bounds a command from sending its line to its final
	// result code (and an SMS command until the "> " prompt).
	DefaultTimeout = 3 * time.Second
	// DefaultSMSTimeout bounds an SMS command from sending the body to
	// the final result code: the modem talks to the network meanwhile.
	DefaultSMSTimeout = 10 * time.Second
	// DefaultResyncTimeout bounds a resynchronisation after a timeout.
	DefaultResyncTimeout = 5 * time.Second
)

// Option configures an Engine.
type Option func(*config)

type config struct {
	timeout       time.Duration
	smsTimeout    time.Duration
	resyncTimeout time.Duration
	trace         TraceFunc
	logger        *slog.Logger
	observer      func(Observation)
	defaultH      Handler
	urcs          []URCSpec
}

func defaultConfig() config {
	return config{
		timeout:       DefaultTimeout,
		smsTimeout:    DefaultSMSTimeout,
		resyncTimeout: DefaultResyncTimeout,
		urcs:          StandardURCs,
	}
}

// WithTimeout sets the engine's default command timeout (DefaultTimeout).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithSMSTimeout sets the default timeout of an SMS command's second
// phase, from the body to the final result code (DefaultSMSTimeout).
func WithSMSTimeout(d time.Duration) Option { return func(c *config) { c.smsTimeout = d } }

// WithResyncTimeout bounds a resynchronisation (DefaultResyncTimeout).
func WithResyncTimeout(d time.Duration) Option { return func(c *config) { c.resyncTimeout = d } }

// WithTrace records every line read and every write to w, one line per
// record (see WriterTrace).
func WithTrace(w io.Writer) Option { return WithTraceFunc(WriterTrace(w)) }

// WithTraceFunc passes every line read and every write to f (see Trace).
func WithTraceFunc(f TraceFunc) Option { return func(c *config) { c.trace = f } }

// WithLogger sets the logger of the default URC handler (unknown and late
// lines) and of engine events such as resynchronisation; nil means
// slog.Default().
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithObserver calls f after every command (and resynchronisation) with
// its name, result class and duration: the hook for metrics. f runs on
// the caller's goroutine and must be quick.
func WithObserver(f func(Observation)) Option { return func(c *config) { c.observer = f } }

// WithDefaultHandler receives the lines that are neither part of a
// response nor a handled URC: URCs without a handler, unknown unsolicited
// lines, the late answer of a command that timed out. The default logs
// them at level Info (Warn for late lines).
func WithDefaultHandler(h Handler) Option { return func(c *config) { c.defaultH = h } }

// WithURC adds URCs to recognise beside StandardURCs, or changes the spec
// of one of them.
func WithURC(specs ...URCSpec) Option {
	return func(c *config) { c.urcs = append(append([]URCSpec(nil), c.urcs...), specs...) }
}

// CommandOption configures one command.
type CommandOption func(*cmdConfig)

type cmdConfig struct {
	timeout     time.Duration
	bodyTimeout time.Duration
}

// Timeout sets the command's timeout, overriding the engine's default.
// For SMSCommand it bounds the wait for the prompt.
func Timeout(d time.Duration) CommandOption { return func(c *cmdConfig) { c.timeout = d } }

// BodyTimeout sets the timeout of SMSCommand's second phase, from the
// body to the final result code.
func BodyTimeout(d time.Duration) CommandOption { return func(c *cmdConfig) { c.bodyTimeout = d } }

// Result classes of an Observation.
const (
	ResultOK        = "ok"          // OK
	ResultError     = "error"       // ERROR, or another V.250 error result
	ResultCME       = "cme_error"   // +CME ERROR
	ResultCMS       = "cms_error"   // +CMS ERROR
	ResultNoPrompt  = "no_prompt"   // an SMS command answered without prompt
	ResultTimeout   = "timeout"     // the command's timeout passed
	ResultCanceled  = "canceled"    // the caller's context ended
	ResultOutOfSync = "out_of_sync" // resynchronisation failed, not sent
	ResultClosed    = "closed"      // the engine stopped
)

// Observation describes a finished command for metrics.
type Observation struct {
	// Command is the command's name: the first extended command
	// ("+CMGS"), else the basic command ("E", "I", "S7"), "AT" for a
	// bare AT, "resync" for a resynchronisation.
	Command  string
	Result   string // one of the Result* classes
	Duration time.Duration
	Err      error
}
