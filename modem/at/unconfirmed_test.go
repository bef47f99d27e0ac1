package at

import (
	"errors"
	"testing"
	"time"
)

// An SMS command whose body went to the modem but whose final result code
// never came is unconfirmed (the modem may have sent it); one that failed
// before the body was written, or that the modem itself answered with an
// error, is not.
func TestSMSCommandBodyUnconfirmed(t *testing.T) {
	silentAfterBody := func(l string) string {
		switch l {
		case "AT+CMGS=23":
			return "\r\n> "
		case "AT+CMGS=24":
			return "" // no prompt
		case "AT+CMGS=25":
			return reply("+CMS ERROR: 330")
		case "\x1a" + submitPDU:
			return "" // the body, and then nothing
		case "\x1b":
			return reply("OK")
		}
		return reply("OK")
	}

	e, _ := start(t, silentAfterBody)
	_, err := e.SMSCommand(ctx5(t), "+CMGS=23", submitPDU, BodyTimeout(50*time.Millisecond))
	if !errors.Is(err, ErrBodyUnconfirmed) || !errors.Is(err, ErrDeadlineExceeded) {
		t.Fatalf("timeout after the body: %v, want ErrBodyUnconfirmed wrapping ErrDeadlineExceeded", err)
	}

	e, _ = start(t, silentAfterBody)
	_, err = e.SMSCommand(ctx5(t), "+CMGS=24", submitPDU, Timeout(50*time.Millisecond))
	if !errors.Is(err, ErrDeadlineExceeded) || errors.Is(err, ErrBodyUnconfirmed) {
		t.Fatalf("no prompt: %v, want ErrDeadlineExceeded only", err)
	}

	e, _ = start(t, silentAfterBody)
	_, err = e.SMSCommand(ctx5(t), "+CMGS=25", submitPDU)
	var cms *CMSError
	if !errors.As(err, &cms) || errors.Is(err, ErrBodyUnconfirmed) {
		t.Fatalf("+CMS ERROR instead of the prompt: %v", err)
	}

	// The connection ends after the body.
	e, m := start(t, silentAfterBody)
	done := make(chan error, 1)
	go func() {
		_, err := e.SMSCommand(ctx5(t), "+CMGS=23", submitPDU)
		done <- err
	}()
	for len(m.received()) < 2 {
		time.Sleep(time.Millisecond)
	}
	_ = m.conn.Close()
	if err := <-done; !errors.Is(err, ErrBodyUnconfirmed) || !errors.Is(err, ErrClosed) {
		t.Fatalf("connection lost after the body: %v, want ErrBodyUnconfirmed wrapping ErrClosed", err)
	}
}
