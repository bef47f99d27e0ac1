package httpapi

import (
	"encoding/json"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/sim-modem-api/sim-modem-api/modem/poller"
)

// readiness says whether a send would be attempted now, and if not, why:
// the relay session is ready (connected, in control, modem initialised,
// the engine in step with the modem) and the last status poll found the
// modem answering, its SIM ready and its radio on (see
// poller.Snapshot.NotReady). Registration is not required: searching is
// often transient; it is in the status.
func (s *server) readiness(snap *poller.Snapshot) (bool, []string) {
	var why []string
	if ok, reason := s.Ready(); !ok {
		why = append(why, "relay session: "+reason)
	}
	why = append(why, snap.NotReady()...)
	return len(why) == 0, why
}

func (s *server) readyz(c *fiber.Ctx) error {
	// In a cluster an instance that does not drive the default modem is
	// ready while another one does: a send it accepts goes to the shared
	// outbox, and a modem operation is forwarded to the owner.
	if o, remote := s.owner(s.Modems[0]); remote {
		if !o.Known {
			why := "no instance drives modem " + s.Modems[0].ID + " now"
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"ready": false, "reason": why, "reasons": []string{why}})
		}
		return c.JSON(fiber.Map{"ready": true, "owner": o.Instance})
	}
	ok, why := s.readiness(s.Snapshot())
	if !ok {
		return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"ready": false, "reason": why[0], "reasons": why})
	}
	return c.JSON(fiber.Map{"ready": true})
}

// ---- /v1/modem/status

// StatusResponse is the answer of GET /v1/modem/status.
type StatusResponse struct {
	*poller.Snapshot
	// Ready is /readyz: a send would be attempted now; NotReady says why
	// not.
	Ready    bool     `json:"ready"`
	NotReady []string `json:"notReady,omitempty"`
	Relay    struct {
		Ready  bool   `json:"ready"`
		Reason string `json:"reason,omitempty"`
	} `json:"relay"`
}

func (s *server) status(c *fiber.Ctx) error { return c.JSON(s.statusResponse()) }

// statusResponse is the answer of GET /v1/modem/status.
func (s *server) statusResponse() StatusResponse {
	r := StatusResponse{Snapshot: s.Snapshot()}
	r.Ready, r.NotReady = s.readiness(r.Snapshot)
	r.Relay.Ready, r.Relay.Reason = s.Ready()
	return r
}

// statusJSON is the event stream's modem.status data: {"type", "time",
// "data": the answer of GET /v1/modem/status}.
func (s *server) statusJSON() []byte {
	b, err := json.Marshal(struct {
		Type string         `json:"type"`
		Time string         `json:"time"`
		Data StatusResponse `json:"data"`
	}{EventModemStatus, time.Now().UTC().Format(time.RFC3339Nano), s.statusResponse()})
	if err != nil { // plain data: cannot happen
		s.Log.Error("modem.status: encoding the status", "err", err)
		return []byte(`{"type":"` + EventModemStatus + `"}`)
	}
	return b
}
