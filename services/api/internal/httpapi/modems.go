package httpapi

import (
	"context"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
)

// ModemResponse is a modem of GET /v1/modems: its configured id, whether
// it is the default modem (of the single-modem routes), its relay, its
// readiness and eligibility to send, its outbox depth, and its status.
//
// With several instances (Modem.Owner set) it also names the instance
// that drives the modem (Owner; absent while none does). The status is
// the poller's of that instance: a modem another instance drives is shown
// as that instance answers GET /v1/modems/{id}; when it cannot be asked
// (no owner, it does not answer, or the request was forwarded already),
// State is "unknown", StateReason says why, and the status is that of a
// modem not polled, with the same reason.
type ModemResponse struct {
	ID          string         `json:"id"`
	Default     bool           `json:"default"`
	Relay       string         `json:"relay,omitempty"`
	Owner       *OwnerResponse `json:"owner,omitempty"`
	State       string         `json:"state,omitempty"`
	StateReason string         `json:"stateReason,omitempty"`
	Ready       bool           `json:"ready"`
	Eligible    bool           `json:"eligible"`
	NotEligible string         `json:"notEligible,omitempty"`
	Outbox      struct {
		// Depth: the messages bound to it and not final, and the queued
		// ones only it may send; -1 when the store could not tell.
		Depth int `json:"depth"`
	} `json:"outbox"`
	Status StatusResponse `json:"status"`
}

// StateUnknown is ModemResponse.State when the modem's status could not
// be read from the instance that drives it.
const StateUnknown = "unknown"

// viewer is who asks for a modem's view: the caller's Authorization (to
// ask the owner with) and whether the request was forwarded already.
type viewer struct {
	auth      string
	forwarded bool
}

func viewerOf(c *fiber.Ctx) viewer {
	return viewer{auth: c.Get(fiber.HeaderAuthorization), forwarded: c.Get(ForwardedHeader) != ""}
}

func (s *server) modemResponse(ctx context.Context, m *Modem, v viewer) ModemResponse {
	o, remote := s.owner(m)
	if !remote {
		r := ModemResponse{ID: m.ID, Default: m == s.Modems[0], Relay: m.Relay, Status: s.on(m).statusResponse()}
		if m.Owner != nil {
			r.Owner = ownerResponse(o)
		}
		r.Ready = r.Status.Ready
		r.Eligible = r.Ready
		if m.Eligible != nil {
			r.NotEligible = m.Eligible()
			r.Eligible = r.NotEligible == ""
		}
		r.Outbox.Depth = s.depth(ctx, m)
		return r
	}
	var why string
	switch {
	case !o.Known:
		why = noOwner(m).Message
	case v.forwarded:
		why = "instance " + o.Instance + " (" + o.URL + ") drives modem " + m.ID + "; this request was forwarded already and is not passed on"
	default:
		r, err := s.ownerView(ctx, m, o, v.auth)
		if err == nil {
			r.Default, r.Relay, r.Owner = m == s.Modems[0], m.Relay, ownerResponse(o)
			return r
		}
		s.Log.Warn("GET /v1/modems: the owner's view", "modem", m.ID, "owner", o.Instance, "url", o.URL, "err", err)
		why = "instance " + o.Instance + " (" + o.URL + ") drives modem " + m.ID + " and did not answer: " + err.Error()
	}
	r := ModemResponse{ID: m.ID, Default: m == s.Modems[0], Relay: m.Relay, State: StateUnknown, StateReason: why, NotEligible: why}
	if o.Known {
		r.Owner = ownerResponse(o)
	}
	r.Status = StatusResponse{Snapshot: unknownSnapshot(why), NotReady: []string{why}}
	r.Status.Relay.Reason = why
	r.Outbox.Depth = s.depth(ctx, m)
	return r
}

// unknownSnapshot is the status of a modem this instance cannot see: as
// the poller's before its first poll, with why as the reason.
func unknownSnapshot(why string) *poller.Snapshot {
	return &poller.Snapshot{Reason: why, Status: modemops.Status{SIM: "unknown", Registration: "unknown", RegistrationCode: -1,
		Signal: modemops.Signal{CSQ: 99}, Radio: "unknown", Functionality: -1}}
}

// depth is m's outbox depth, -1 if unknown.
func (s *server) depth(ctx context.Context, m *Modem) int {
	if m.Depth == nil {
		return -1
	}
	n, err := m.Depth(ctx)
	if err != nil {
		s.Log.Error("GET /v1/modems: outbox depth", "modem", m.ID, "err", err)
		return -1
	}
	return n
}

func (s *server) listModems(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), 5*time.Second)
	defer cancel()
	v := viewerOf(c)
	out := make([]ModemResponse, len(s.Modems))
	var wg sync.WaitGroup
	for i, m := range s.Modems {
		wg.Go(func() { out[i] = s.modemResponse(ctx, m, v) }) // an owner elsewhere is asked over HTTP
	}
	wg.Wait()
	return c.JSON(fiber.Map{"modems": out})
}

func (s *server) getModem(c *fiber.Ctx) error {
	m, ok := s.modems[c.Params("id")]
	if !ok {
		return &Error{Status: fiber.StatusNotFound, Code: "not_found", Message: "no modem " + c.Params("id")}
	}
	ctx, cancel := context.WithTimeout(c.UserContext(), 5*time.Second)
	defer cancel()
	return c.JSON(s.modemResponse(ctx, m, viewerOf(c)))
}
