package httpapi

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/modemops"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/scheduler"
)

// SMSResponse is the answer of POST /v1/sms.
type SMSResponse struct {
	ID           string          `json:"id"`
	To           string          `json:"to"`
	Encoding     string          `json:"encoding"`
	PartCount    int             `json:"partCount"`
	Parts        []modemops.Part `json:"parts"`
	StatusReport bool            `json:"statusReport"`
}

func (s *server) sendSMS(c *fiber.Ctx) error {
	var req smsRequest
	if err := decodeStrict(c, &req); err != nil {
		s.countSMS("rejected")
		return err
	}
	var validity time.Duration
	var vErr *FieldMessage
	if req.Validity != "" {
		d, err := time.ParseDuration(req.Validity)
		if err != nil {
			vErr = &FieldMessage{"validity", "want a duration like 30m, 24h or 168h"}
		} else if d < modemops.MinValidity || d > modemops.MaxValidity {
			vErr = &FieldMessage{"validity", "must be between 5m and 63 weeks (10584h)"}
		}
		validity = d
	}
	p, to, err := s.prepareSMS("to", req.To, "text", req.Text, validity, vErr, req.StatusReport, req.Flash)
	if err != nil {
		s.countSMS("rejected")
		return err
	}
	if _, err := s.sendJob(p); err != nil {
		return s.smsErr(p, err)
	}
	parts := p.Progress()
	return c.JSON(SMSResponse{ID: p.ID, To: to, Encoding: p.Encoding, PartCount: len(parts), Parts: parts, StatusReport: req.StatusReport})
}

// sendJob sends p as one Send-class job: all its parts, in order, paced;
// between two messages other jobs may run. The message is counted when
// its job ends, also if the caller's wait ended before (the job runs on).
// The transcript is nil if the caller's wait ended first.
func (s *server) sendJob(p *modemops.PreparedSMS) ([]modemops.Exchange, error) {
	p.ID = newID("sms_")
	var xs []modemops.Exchange
	var ran atomic.Bool
	err := s.doClass(scheduler.Send, s.smsBudget(p), func(ctx context.Context, e modemops.AT) error {
		ran.Store(true)
		var err error
		_, xs, err = s.Ops.Send(ctx, e, p)
		s.countSMS(messageResult(err))
		return err
	})
	switch {
	case errors.Is(err, scheduler.ErrStillRunning):
		s.Log.Warn("SMS request: the wait ended while its job runs; the job goes on, its outcome is not known to the caller",
			"id", p.ID, "parts", len(p.PDUs), "sent_so_far", len(modemops.SentParts(p.Progress())))
		return nil, err
	case err != nil && !ran.Load():
		s.countSMS("failed") // refused or dropped before it started: nothing went out
	}
	return xs, err
}

// partsOf returns the parts' states of p after sending it ended with
// err, or nil if its job never started (nothing was attempted).
func partsOf(p *modemops.PreparedSMS, err error) []modemops.Part {
	var se *modemops.SendError
	if err == nil || errors.As(err, &se) || errors.Is(err, scheduler.ErrStillRunning) {
		return p.Progress()
	}
	return nil
}

// messageResult is a finished message's result for metrics.
func messageResult(err error) string {
	var se *modemops.SendError
	switch {
	case err == nil:
		return "sent"
	case errors.As(err, &se) && se.Unknown:
		return "unknown"
	}
	return "failed"
}

// smsErr maps the error of sending p. It never says a part failed that
// may have gone out: a part whose body went to the modem without a final
// answer is "unknown" (sms_outcome_unknown, 503 or 504 as the cause), and
// a request whose wait ended while its job runs is sms_in_progress (504).
func (s *server) smsErr(p *modemops.PreparedSMS, err error) *Error {
	var se *modemops.SendError
	switch {
	case errors.Is(err, scheduler.ErrStillRunning):
		parts := p.Progress()
		return &Error{Status: fiber.StatusGatewayTimeout, Code: "sms_in_progress",
			Message: fmt.Sprintf("message %s: the request's time ran out while its job was sending it (%d of %d parts sent so far); "+
				"the job goes on to its end, so the outcome is not known yet: do not resend it blindly", p.ID, len(modemops.SentParts(parts)), len(parts)),
			ID: p.ID, Parts: parts, SentParts: modemops.SentParts(parts)}
	case errors.As(err, &se) && se.Unknown:
		e := modemErr(err) // the status (503 connection lost, 504 timeout) and the parts
		e.Code, e.Message, e.Modem = "sms_outcome_unknown", "message "+p.ID+": "+se.Error(), nil
		return e
	}
	return modemErr(err)
}

func (s *server) countSMS(result string) {
	if s.Metrics != nil {
		s.Metrics.SMSMessages.WithLabelValues(result).Inc()
	}
}
