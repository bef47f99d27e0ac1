package httpapi

import (
	"github.com/gofiber/fiber/v2"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/apikeys"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/console"
)

// ---- what the web console needs besides the public endpoints

// roleKey is the fiber local where auth leaves the caller's role.
const roleKey = "apiRole"

// consoleRoutes registers the web console (/ and /console/…) and the two
// small read-only endpoints it uses: GET /v1/whoami (the key's role, to
// hide what a user key may not do) and POST /v1/messages/preview (the
// encoding and parts of a text by the api's own rules, while typing).
func (s *server) consoleRoutes(app *fiber.App, user fiber.Handler) error {
	app.Get("/v1/whoami", user, s.whoami)
	app.Post("/v1/messages/preview", user, s.previewMessage)
	return console.Register(app)
}

// WhoAmI is the answer of GET /v1/whoami.
type WhoAmI struct {
	Role string `json:"role"` // user or admin
}

func (s *server) whoami(c *fiber.Ctx) error {
	role, _ := c.Locals(roleKey).(apikeys.Role)
	return c.JSON(WhoAmI{Role: role.String()})
}

// previewRequest is the body of POST /v1/messages/preview.
type previewRequest struct {
	To   string  `json:"to"`
	Text *string `json:"text"`
}

// PreviewResponse is the answer of POST /v1/messages/preview: how the
// text would be sent (modemops.Preview), and the recipient as it would be
// stored, or what is wrong with it, when one was given.
type PreviewResponse struct {
	modemops.Preview
	To      string `json:"to,omitempty"`
	ToError string `json:"toError,omitempty"`
}

func (s *server) previewMessage(c *fiber.Ctx) error {
	var req previewRequest
	if err := decodeStrict(c, &req); err != nil {
		return err
	}
	if req.Text == nil {
		return invalid(FieldMessage{"text", "required"})
	}
	p, err := s.Ops.Preview(*req.Text)
	if err != nil {
		return invalid(FieldMessage{"text", err.Error()})
	}
	r := PreviewResponse{Preview: p}
	if req.To != "" {
		if to, fe := s.recipient("to", req.To); fe != nil {
			r.ToError = fe.Message
		} else {
			r.To = to
		}
	}
	return c.JSON(r)
}
