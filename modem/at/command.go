package at

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Response is the information text of a command: its lines in order,
// without the echo, the final result code and any URCs.
type Response struct {
	Lines []string
}

// Value returns what follows "name:" in the first line with that name,
// trimmed: Value("+CSQ") of "+CSQ: 20,99" is "20,99".
func (r Response) Value(name string) (string, bool) {
	for _, l := range r.Lines {
		if lineName(l) == strings.ToUpper(name) && strings.Contains(l, ":") {
			return afterColon(l), true
		}
	}
	return "", false
}

// request is one command line in flight.
type request struct {
	line  string   // the command line as sent, without CR
	names []string // its extended command names

	wantPrompt bool
	body       string
	promptc    chan struct{} // closed on the prompt
	prompted   bool
	bodyEchoed bool

	nonce     int // resync probe: the S7 value to wait for
	nonceSeen bool

	echoed bool
	lines  []string
	err    error
	done   chan struct{} // closed on the final result code
}

// Command sends "AT"+cmd+"\r" and returns the information text of the
// answer. cmd is the command line after "AT": "+CSQ", "+CMGF=0", "I",
// "E0", "" for a bare AT. The final result code decides the error: OK is
// nil, ERROR is ErrError, +CME ERROR and +CMS ERROR are *CMEError and
// *CMSError, nothing within the timeout is ErrDeadlineExceeded. Errors
// are wrapped with the command; the Response holds the lines read so far
// also on error.
//
// Commands run one at a time in the order they were called. If an earlier
// command was abandoned (timeout, cancelled context), the engine first
// resynchronises; if that fails the command is not sent and the error
// wraps ErrOutOfSync.
func (e *Engine) Command(ctx context.Context, cmd string, opts ...CommandOption) (Response, error) {
	req := &request{line: "AT" + cmd, names: commandNames(cmd)}
	return e.run(ctx, req, opts)
}

// SMSCommand sends a command that prompts for a body (AT+CMGS=<length>,
// AT+CMGW): it sends "AT"+cmd+"\r", waits for the "> " prompt, sends body
// followed by Ctrl-Z and returns the answer ("+CMGS: <mr>"). If the modem
// answers anything but the prompt, the body is not sent (OK is ErrPrompt);
// if the final result code does not come within the body timeout
// (DefaultSMSTimeout, see BodyTimeout) after the body, the engine sends
// ESC to cancel and resynchronises before the next command.
func (e *Engine) SMSCommand(ctx context.Context, cmd, body string, opts ...CommandOption) (Response, error) {
	req := &request{line: "AT" + cmd, names: commandNames(cmd), wantPrompt: true, body: body}
	return e.run(ctx, req, opts)
}

func (e *Engine) run(ctx context.Context, req *request, opts []CommandOption) (Response, error) {
	o := cmdConfig{timeout: e.cfg.timeout, bodyTimeout: e.cfg.smsTimeout}
	for _, f := range opts {
		f(&o)
	}
	start := time.Now()
	lines, err := e.serialised(ctx, req, o)
	e.observe(label(req.line[2:]), start, err)
	if err != nil {
		err = fmt.Errorf("%s: %w", req.line, err)
	}
	return Response{Lines: lines}, err
}

// serialised runs req after the commands before it, resynchronising first
// if needed.
func (e *Engine) serialised(ctx context.Context, req *request, o cmdConfig) ([]string, error) {
	if err := e.fifo.acquire(ctx, e.stopped); err != nil {
		return nil, err
	}
	defer e.fifo.release()
	if err := e.resyncIfNeeded(ctx); err != nil {
		return nil, err
	}
	return e.exchange(ctx, req, o)
}

// exchange sends req and waits for its answer. The caller holds the fifo.
func (e *Engine) exchange(ctx context.Context, req *request, o cmdConfig) ([]string, error) {
	req.done = make(chan struct{})
	if req.wantPrompt {
		req.promptc = make(chan struct{})
	}
	e.mu.Lock()
	if e.err != nil {
		e.mu.Unlock()
		return nil, e.stopErr()
	}
	e.epoch++
	e.cur = req
	e.owed++
	e.mu.Unlock()

	if err := e.write([]byte(req.line + "\r")); err != nil {
		return nil, err
	}
	timer := time.NewTimer(o.timeout)
	defer timer.Stop()
	if req.wantPrompt {
		select {
		case <-req.promptc:
			select {
			case <-e.stopped:
				return e.abandon(req, e.stopErr()) // nothing of the body written
			default:
			}
			if err := e.write([]byte(req.body + "\x1a")); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrBodyUnconfirmed, err) // part of it may have gone
			}
			timer.Reset(o.bodyTimeout)
		case <-req.done:
			// An answer instead of the prompt: the body is not sent.
			if req.err == nil {
				return req.lines, ErrPrompt
			}
			return req.lines, req.err
		case <-timer.C:
			return e.abandon(req, ErrDeadlineExceeded)
		case <-ctx.Done():
			return e.abandon(req, ctx.Err())
		case <-e.stopped:
			return e.abandon(req, e.stopErr())
		}
	}
	var cause error
	select {
	case <-req.done:
		if req.wantPrompt && errors.Is(req.err, ErrClosed) {
			// The stream ended after the body, before the final.
			return req.lines, fmt.Errorf("%w: %w", ErrBodyUnconfirmed, req.err)
		}
		return req.lines, req.err
	case <-timer.C:
		cause = ErrDeadlineExceeded
	case <-ctx.Done():
		cause = ctx.Err()
	case <-e.stopped:
		cause = e.stopErr()
	}
	lines, err := e.abandon(req, cause)
	if req.wantPrompt && err == cause {
		// The body went out and no final came: the outcome is unknown.
		err = fmt.Errorf("%w: %w", ErrBodyUnconfirmed, cause)
	}
	return lines, err
}

// abandon gives up on req: from now on nothing the modem sends is taken
// as its answer, and the engine is out of sync until a resync. If the
// answer completed meanwhile, it is returned instead. An open prompt is
// cancelled with ESC at once.
func (e *Engine) abandon(req *request, cause error) ([]string, error) {
	e.mu.Lock()
	select {
	case <-req.done:
		e.mu.Unlock()
		if req.wantPrompt && !req.prompted && req.err == nil {
			return req.lines, ErrPrompt
		}
		return req.lines, req.err
	default:
	}
	if e.cur == req {
		e.cur = nil
	}
	lines := req.lines
	stopped := e.err != nil
	e.outOfSync = true
	if req.wantPrompt {
		e.dirty = true // the prompt may still come, or is open
	}
	prompted := req.prompted
	e.mu.Unlock()
	if prompted && !stopped {
		_ = e.write([]byte{0x1b})
	}
	return lines, cause
}

// observe reports a finished command to the observer.
func (e *Engine) observe(name string, start time.Time, err error) {
	if e.cfg.observer == nil {
		return
	}
	e.cfg.observer(Observation{Command: name, Result: classify(err), Duration: time.Since(start), Err: err})
}

// classify maps a command's error to a result class.
func classify(err error) string {
	var cme *CMEError
	var cms *CMSError
	switch {
	case err == nil:
		return ResultOK
	case errors.As(err, &cme):
		return ResultCME
	case errors.As(err, &cms):
		return ResultCMS
	case errors.Is(err, ErrPrompt):
		return ResultNoPrompt
	case errors.Is(err, ErrOutOfSync):
		return ResultOutOfSync
	case errors.Is(err, ErrClosed):
		return ResultClosed
	case errors.Is(err, ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return ResultTimeout
	case errors.Is(err, context.Canceled):
		return ResultCanceled
	}
	return ResultError
}

// label names a command line body for metrics: its first extended
// command, else its first basic command ("E" of "E0", "S7" of "S7?").
func label(body string) string {
	if names := commandNames(body); len(names) > 0 {
		return names[0]
	}
	if body == "" {
		return "AT"
	}
	c := strings.ToUpper(body[:1])
	if c == "&" && len(body) > 1 {
		return "&" + strings.ToUpper(body[1:2])
	}
	if c == "S" {
		i := 1
		for i < len(body) && body[i] >= '0' && body[i] <= '9' {
			i++
		}
		return "S" + body[1:i]
	}
	return c
}
