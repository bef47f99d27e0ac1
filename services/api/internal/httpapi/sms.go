package httpapi

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
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
	validity, vErr := parseValidity("validity", req.Validity)
	p, to, err := s.prepareSMS("to", req.To, "text", req.Text, validity, vErr, req.StatusReport, req.Flash)
	if err != nil {
		s.countSMS("rejected")
		return err
	}
	o, err := s.sendAndWait(viewerOf(c), p, to, *req.Text, validity, req.StatusReport, req.Flash)
	if e := outcomeErr(o, err); e != nil {
		s.countOutcome(e)
		return e
	}
	s.countSMS("sent")
	parts := smsParts(o.Message)
	return c.JSON(SMSResponse{ID: o.Message.ID, To: to, Encoding: p.Encoding, PartCount: len(parts), Parts: parts, StatusReport: req.StatusReport})
}

// countOutcome counts a synchronous send that did not end sent: failed,
// unknown, or not counted (refused before it was stored, or still in
// the outbox).
func (s *server) countOutcome(e *Error) {
	switch {
	case e.Code == "sms_outcome_unknown":
		s.countSMS("unknown")
	case e.ID != "" && e.Code != "sms_in_progress":
		s.countSMS("failed")
	}
}

// submissions are the exchanges that submitted the parts (AT+CMSS), the
// commands the original listed (its AT+CMGS per part).
func submissions(xs []modemops.Exchange) []modemops.Exchange {
	out := []modemops.Exchange{}
	for _, x := range xs {
		if strings.HasPrefix(x.Command, "AT+CMSS=") {
			out = append(out, x)
		}
	}
	return out
}

func (s *server) countSMS(result string) {
	if s.ModemMetrics != nil {
		s.ModemMetrics.SMSMessages.WithLabelValues(result).Inc()
	}
}
