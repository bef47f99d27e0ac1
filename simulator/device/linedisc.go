package device

import (
	"bytes"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/escape"
)

// Control characters of the line discipline.
const (
	cr     = '\r' // S3, ends a command line
	lf     = '\n' // S4; tolerated as a terminator, ignored right after CR
	bs     = 0x08 // S5, deletes the previous character
	ctrlZ  = 0x1A // submits the text or PDU after the "> " prompt
	escKey = 0x1B // cancels the "> " prompt
)

// prompt is an open "> " prompt of AT+CMGS or AT+CMGW.
type prompt struct {
	pdu    bool // PDU mode: CR and LF are ignored
	body   []byte
	submit func(s *session, body []byte) ([]string, error) // called with Device.mu held
}

// feed runs the line discipline over received bytes: echo, editing,
// command lines, prompt bodies.
func (s *session) feed(chunk []byte) error {
	s.d.mu.Lock()
	hang := s.d.faults.Hang
	dropEcho := s.d.faults.DropEcho
	echo := s.set.echo && !dropEcho
	s.d.mu.Unlock()
	if hang {
		s.d.log.Info("swallowed input (hang fault)", "bytes", escape.String(chunk))
		s.line, s.lastCR = s.line[:0], false
		return nil
	}
	for i := 0; i < len(chunk); i++ {
		b := chunk[i]
		if echo {
			s.echoBuf = append(s.echoBuf, b)
		}
		if s.prompt != nil {
			if err := s.feedPrompt(b); err != nil {
				return err
			}
			// ATE may not change inside a prompt, but the echo
			// setting is re-read for the bytes after a command.
			continue
		}
		wasCR := s.lastCR
		s.lastCR = b == cr
		switch {
		case b == cr || b == lf && !wasCR:
			if err := s.endLine(); err != nil {
				return err
			}
		case b == lf:
			// LF right after CR: part of the CR LF terminator.
		case b == bs:
			if n := len(s.line); n > 0 {
				s.line = s.line[:n-1]
			}
		case b == '/' && len(s.line) == 1 && (s.line[0] == 'A' || s.line[0] == 'a'):
			s.line = s.line[:0]
			if err := s.repeat(); err != nil {
				return err
			}
		default:
			if len(s.line) < maxLine {
				s.line = append(s.line, b)
			} else {
				s.overflow = true
			}
		}
		s.d.mu.Lock()
		echo = s.set.echo && !s.d.faults.DropEcho
		s.d.mu.Unlock()
	}
	return s.flushEcho()
}

// flushEcho writes the echo collected so far.
func (s *session) flushEcho() error {
	if len(s.echoBuf) == 0 {
		return nil
	}
	b := s.echoBuf
	s.echoBuf = nil
	if s.exch != nil {
		s.exch.Response += string(b)
	} else {
		s.lineEcho = append(s.lineEcho, b...)
	}
	return s.write(b)
}

// endLine handles a complete command line.
func (s *session) endLine() error {
	line := string(s.line)
	overflow := s.overflow
	s.line, s.overflow = s.line[:0], false
	if bytes.IndexFunc([]byte(line), func(r rune) bool { return r != ' ' }) < 0 {
		// Empty lines are ignored, as a real modem does.
		err := s.flushEcho()
		s.lineEcho = nil
		return err
	}
	s.lastLine = line
	return s.execute(line, overflow)
}

// repeat executes the previous command line again (A/).
func (s *session) repeat() error {
	if s.lastLine == "" {
		return s.flushEcho()
	}
	return s.execute(s.lastLine, false)
}

// feedPrompt collects one byte of a text or PDU after the "> " prompt.
func (s *session) feedPrompt(b byte) error {
	p := s.prompt
	switch {
	case b == ctrlZ:
		s.prompt = nil
		return s.finishPrompt(p, false)
	case b == escKey:
		s.prompt = nil
		return s.finishPrompt(p, true)
	case b == cr || b == lf:
		wasCR := s.lastCR
		s.lastCR = b == cr
		if p.pdu || b == lf && wasCR {
			return nil
		}
		p.body = append(p.body, '\n')
	case b == bs:
		if n := len(p.body); n > 0 {
			p.body = p.body[:n-1]
		}
	default:
		s.lastCR = false
		if len(p.body) >= maxBody {
			s.prompt = nil
			return s.finishPrompt(p, false)
		}
		p.body = append(p.body, b)
	}
	return nil
}

// finishPrompt submits or cancels an open prompt and writes the final result.
func (s *session) finishPrompt(p *prompt, cancelled bool) error {
	if err := s.flushEcho(); err != nil {
		return err
	}
	d := s.d
	d.mu.Lock()
	var info []string
	var err error
	var wait time.Duration
	if cancelled {
		d.log.Info("prompt cancelled with ESC")
	} else {
		d.log.Info("prompt submitted", "body", escape.String(p.body))
		info, err = p.submit(s, p.body)
		wait = s.pendingDelay
		s.pendingDelay = 0
		s.emitRegChangesLocked()
	}
	resp := s.frameLocked([][]string{info}, err)
	wait += d.faults.Delay
	d.mu.Unlock()
	if s.exch != nil {
		s.exch.Body = string(p.body)
		if cancelled {
			s.exch.Body += "\x1b"
		}
	}
	return s.respond(resp, wait)
}
