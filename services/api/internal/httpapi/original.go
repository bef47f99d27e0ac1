package httpapi

import (
	"context"
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/relayconn"
	"github.com/sim-modem-api/sim-modem-api/modem/scheduler"
	"github.com/sim-modem-api/sim-modem-api/modem/scheduler/coalesce"
)

// Results of the original REST server.
const (
	ResultSuccess           = "SUCCESS"
	ResultPredicateMismatch = "PREDICATE_MISMATCH"
	ResultUnavailable       = "UNAVAILABLE"
	ResultTimedOut          = "TIMED_OUT"
)

// OriginalResponse is the original REST server's answer to every call.
type OriginalResponse struct {
	Result           string              `json:"result"`
	ExecutedCommands []modemops.Exchange `json:"executedCommands"`
	Error            string              `json:"error,omitempty"`
	// ID and Parts (POST /sms only, an addition to the original's shape):
	// the message id and every part's state (sent, failed, unknown,
	// pending, not_attempted).
	ID    string          `json:"id,omitempty"`
	Parts []modemops.Part `json:"parts,omitempty"`
}

// originalResult classifies err as the original did, with the HTTP status
// this api answers it with.
func originalResult(err error) (string, int) {
	switch {
	case err == nil:
		return ResultSuccess, fiber.StatusOK
	case errors.Is(err, scheduler.ErrQueueFull):
		return ResultUnavailable, fiber.StatusTooManyRequests
	case errors.Is(err, relayconn.ErrUnavailable), errors.Is(err, at.ErrClosed), errors.Is(err, scheduler.ErrStopped), errors.Is(err, context.Canceled):
		return ResultUnavailable, fiber.StatusServiceUnavailable
	case errors.Is(err, at.ErrDeadlineExceeded), errors.Is(err, at.ErrOutOfSync), errors.Is(err, context.DeadlineExceeded):
		return ResultTimedOut, fiber.StatusGatewayTimeout
	}
	return ResultPredicateMismatch, fiber.StatusBadGateway
}

func original(c *fiber.Ctx, xs []modemops.Exchange, err error) error {
	res, status := originalResult(err)
	if xs == nil {
		xs = []modemops.Exchange{}
	}
	r := OriginalResponse{Result: res, ExecutedCommands: xs}
	if err != nil {
		r.Error = err.Error()
	}
	if status == fiber.StatusTooManyRequests {
		c.Set("Retry-After", "1")
	}
	return c.Status(status).JSON(r)
}

type origSMSRequest struct {
	Recipient           string  `json:"recipient"`
	Message             *string `json:"message"`
	ValidityPeriodUnit  string  `json:"validityPeriodUnit"`
	ValidityPeriodValue *int64  `json:"validityPeriodValue"`
}

var validityUnits = map[string]time.Duration{
	"MINUTES": time.Minute, "HOURS": time.Hour, "DAYS": 24 * time.Hour, "WEEKS": 7 * 24 * time.Hour,
}

func (s *server) origSMS(c *fiber.Ctx) error {
	var req origSMSRequest
	if err := decodeStrict(c, &req); err != nil {
		s.countSMS("rejected")
		return err
	}
	var validity time.Duration
	var vErr *FieldMessage
	switch {
	case req.ValidityPeriodUnit == "" && req.ValidityPeriodValue == nil:
	case req.ValidityPeriodUnit == "" || req.ValidityPeriodValue == nil:
		vErr = &FieldMessage{"validityPeriodValue", "validityPeriodUnit and validityPeriodValue go together"}
	default:
		unit, ok := validityUnits[req.ValidityPeriodUnit]
		v := *req.ValidityPeriodValue
		switch {
		case !ok:
			vErr = &FieldMessage{"validityPeriodUnit", "must be MINUTES, HOURS, DAYS or WEEKS"}
		case v <= 0 || v > 1<<20 || time.Duration(v)*unit < modemops.MinValidity || time.Duration(v)*unit > modemops.MaxValidity:
			vErr = &FieldMessage{"validityPeriodValue", "the period must be between 5 minutes and 63 weeks"}
		default:
			validity = time.Duration(v) * unit
		}
	}
	p, to, err := s.prepareSMS("recipient", req.Recipient, "message", req.Message, validity, vErr, s.OriginalStatusReport, false)
	if err != nil {
		s.countSMS("rejected")
		return err
	}
	o, err := s.sendAndWait(viewerOf(c), p, to, *req.Message, validity, s.OriginalStatusReport, false)
	r := OriginalResponse{Result: ResultSuccess, ExecutedCommands: submissions(o.Exchanges)}
	status := fiber.StatusOK
	if e := outcomeErr(o, err); e != nil {
		s.countOutcome(e)
		r.Error, status = e.Message, e.Status
		switch {
		case status == fiber.StatusServiceUnavailable || status == fiber.StatusTooManyRequests:
			r.Result = ResultUnavailable
		case status == fiber.StatusGatewayTimeout:
			r.Result = ResultTimedOut
		default:
			r.Result = ResultPredicateMismatch
		}
	} else {
		s.countSMS("sent")
	}
	if o.Message != nil {
		r.ID, r.Parts = o.Message.ID, smsParts(o.Message)
	}
	return c.Status(status).JSON(r)
}

// infoResult is the modem's answer to an /info/* command.
type infoResult struct {
	x   modemops.Exchange
	err error // the modem's error answer
}

// origInfo answers an /info/* read with the raw answer of its command, as
// the original did. Identical concurrent reads are coalesced: a read that
// comes while the same command is queued or running waits for it and
// shares its answer, so any number of concurrent readers cost one modem
// command per round, as a Read-class job (they never crowd out sends).
func (s *server) origInfo(cmd string) fiber.Handler {
	rc := modemops.RawCommand{Line: cmd}
	var reads coalesce.Group[infoResult]
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(context.Background(), s.RequestTimeout+s.CommandTimeout)
		defer cancel()
		r, _, err := reads.Do(ctx, cmd, func(ctx context.Context) (infoResult, error) {
			var res infoResult
			err := s.Sched.DoClass(ctx, scheduler.Read, func(jctx context.Context, e modemops.AT) error {
				res.x, res.err = s.Ops.Raw(jctx, e, rc, 0)
				return nil
			})
			if err != nil {
				return infoResult{}, err // res may still be written by a job that runs on
			}
			return res, nil
		})
		if errors.Is(err, scheduler.ErrQueueFull) && s.ModemMetrics != nil {
			s.ModemMetrics.QueueRejected.WithLabelValues(scheduler.Read.String()).Inc()
		}
		if err == nil {
			err = r.err
		}
		var xs []modemops.Exchange
		if r.x.Command != "" {
			xs = append(xs, r.x)
		}
		return original(c, xs, err)
	}
}

type origCustomRequest struct {
	BinaryCommand   string `json:"binaryCommand"`
	ReadableCommand string `json:"readableCommand"`
	TimeoutMs       int    `json:"timeoutMs"`
}

// origCustom runs binaryCommand (hex bytes) if given, else readableCommand.
func (s *server) origCustom(c *fiber.Ctx) error {
	var req origCustomRequest
	if err := decodeStrict(c, &req); err != nil {
		return err
	}
	readable := req.ReadableCommand
	if req.BinaryCommand != "" {
		readable = "" // the bytes win; the readable form is only a label then
	}
	rc, timeout, err := s.parseRaw(readable, req.BinaryCommand, req.TimeoutMs, "readableCommand", "binaryCommand")
	if err != nil {
		return err
	}
	x, err := s.runRaw(rc, timeout)
	var xs []modemops.Exchange
	if x.Command != "" {
		xs = append(xs, x)
	}
	return original(c, xs, err)
}
