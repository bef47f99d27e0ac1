package httpapi

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// ModemResponse is a modem of GET /v1/modems: its configured id, whether
// it is the default modem (of the single-modem routes), its relay, its
// readiness and eligibility to send, its outbox depth, and its status.
type ModemResponse struct {
	ID          string `json:"id"`
	Default     bool   `json:"default"`
	Relay       string `json:"relay,omitempty"`
	Ready       bool   `json:"ready"`
	Eligible    bool   `json:"eligible"`
	NotEligible string `json:"notEligible,omitempty"`
	Outbox      struct {
		// Depth: the messages bound to it and not final, and the queued
		// ones only it may send; -1 when the store could not tell.
		Depth int `json:"depth"`
	} `json:"outbox"`
	Status StatusResponse `json:"status"`
}

func (s *server) modemResponse(ctx context.Context, m *Modem) ModemResponse {
	r := ModemResponse{ID: m.ID, Default: m == s.Modems[0], Relay: m.Relay, Status: s.on(m).statusResponse()}
	r.Ready = r.Status.Ready
	r.Eligible = r.Ready
	if m.Eligible != nil {
		r.NotEligible = m.Eligible()
		r.Eligible = r.NotEligible == ""
	}
	r.Outbox.Depth = -1
	if m.Depth != nil {
		if n, err := m.Depth(ctx); err == nil {
			r.Outbox.Depth = n
		} else {
			s.Log.Error("GET /v1/modems: outbox depth", "modem", m.ID, "err", err)
		}
	}
	return r
}

func (s *server) listModems(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 5*time.Second)
	defer cancel()
	out := make([]ModemResponse, len(s.Modems))
	for i, m := range s.Modems {
		out[i] = s.modemResponse(ctx, m)
	}
	return c.JSON(fiber.Map{"modems": out})
}

func (s *server) getModem(c *fiber.Ctx) error {
	m, ok := s.modems[c.Params("id")]
	if !ok {
		return &Error{Status: fiber.StatusNotFound, Code: "not_found", Message: "no modem " + c.Params("id")}
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 5*time.Second)
	defer cancel()
	return c.JSON(s.modemResponse(ctx, m))
}
