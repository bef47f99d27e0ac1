package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/relayconn"
	"github.com/sim-modem-api/sim-modem-api/modem/scheduler"
)

// FieldMessage is the error of one request field.
type FieldMessage struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ModemError is the modem's error answer.
type ModemError struct {
	Type string `json:"type"` // cme, cms, error
	Code int    `json:"code,omitempty"`
	Name string `json:"name,omitempty"`
}

// Error is every error response's body.
type Error struct {
	Status  int            `json:"-"`
	Code    string         `json:"code"`
	Message string         `json:"error"`
	Fields  []FieldMessage `json:"fields,omitempty"`
	Modem   *ModemError    `json:"modemError,omitempty"`
	// SentParts are the parts of an SMS that went out before a part failed.
	SentParts []modemops.Part `json:"sentParts,omitempty"`
	// ID is the SMS's message id, Parts the state of each of its parts
	// (sent, failed, unknown, pending, not_attempted).
	ID    string          `json:"id,omitempty"`
	Parts []modemops.Part `json:"parts,omitempty"`
	// Limit is the limit a field's value is over (400 limit_exceeded).
	Limit int `json:"limit,omitempty"`
	// retryAfter is the answer's Retry-After (seconds); 429 is always "1".
	retryAfter string
}

func (e *Error) Error() string { return e.Message }

func badRequest(msg string, fields ...FieldMessage) *Error {
	return &Error{Status: fiber.StatusBadRequest, Code: "bad_request", Message: msg, Fields: fields}
}

func invalid(fields ...FieldMessage) *Error {
	msgs := make([]string, len(fields))
	for i, f := range fields {
		msgs[i] = f.Field + ": " + f.Message
	}
	return &Error{Status: fiber.StatusUnprocessableEntity, Code: "validation_failed", Message: strings.Join(msgs, "; "), Fields: fields}
}

// modemErr maps an error of a modem job to an HTTP error.
func modemErr(err error) *Error {
	var fe *modemops.FieldError
	var cms *at.CMSError
	var cme *at.CMEError
	var out *Error
	switch {
	case errors.As(err, &fe) && fe.Limit > 0:
		return overLimit(fe.Field, fe.Message, fe.Limit)
	case errors.As(err, &fe):
		return invalid(FieldMessage{fe.Field, fe.Message})
	case errors.Is(err, scheduler.ErrQueueFull):
		return &Error{Status: fiber.StatusTooManyRequests, Code: "queue_full", Message: "the modem queue is full; retry later"}
	case errors.Is(err, scheduler.ErrStopped):
		return &Error{Status: fiber.StatusServiceUnavailable, Code: "shutting_down", Message: "the api is shutting down"}
	case errors.Is(err, relayconn.ErrUnavailable):
		out = &Error{Status: fiber.StatusServiceUnavailable, Code: "modem_unavailable", Message: err.Error()}
	case errors.Is(err, at.ErrClosed), errors.Is(err, context.Canceled):
		out = &Error{Status: fiber.StatusServiceUnavailable, Code: "modem_unavailable", Message: "the connection to the modem was lost: " + err.Error()}
	case errors.Is(err, at.ErrDeadlineExceeded), errors.Is(err, at.ErrOutOfSync), errors.Is(err, modemops.ErrUSSDTimeout):
		out = &Error{Status: fiber.StatusGatewayTimeout, Code: "modem_timeout", Message: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		out = &Error{Status: fiber.StatusGatewayTimeout, Code: "request_timeout", Message: "the request timed out waiting for the modem; a job already started still completes"}
	case errors.As(err, &cms):
		out = &Error{Status: fiber.StatusBadGateway, Code: "network_refused", Message: err.Error(), Modem: &ModemError{Type: "cms", Code: cms.Code, Name: cms.Name}}
		if at.SIMNotReady(err) { // +CMS ERROR 310–318: AT+CMGS while the SIM wants its PIN
			out.Status, out.Code = fiber.StatusConflict, "sim_not_ready"
		}
	case errors.As(err, &cme):
		out = &Error{Status: fiber.StatusBadGateway, Code: "modem_error", Message: err.Error(), Modem: &ModemError{Type: "cme", Code: cme.Code, Name: cme.Name}}
		if at.SIMNotReady(err) {
			out.Status, out.Code = fiber.StatusConflict, "sim_not_ready"
		}
	case errors.Is(err, at.ErrError), errors.Is(err, at.ErrPrompt):
		out = &Error{Status: fiber.StatusBadGateway, Code: "modem_error", Message: err.Error(), Modem: &ModemError{Type: "error"}}
	default:
		out = &Error{Status: fiber.StatusInternalServerError, Code: "internal", Message: err.Error()}
	}
	return out
}

// overLimit is the 400 of a field whose value is over a stated limit.
func overLimit(field, msg string, limit int) *Error {
	return &Error{Status: fiber.StatusBadRequest, Code: "limit_exceeded", Message: field + ": " + msg,
		Fields: []FieldMessage{{field, msg}}, Limit: limit}
}

// protocolMessages are the answers to errors that fiber and fasthttp raise
// before a handler runs (routing, limits, a request that does not parse).
// Their own texts quote the request, the Authorization header included, so
// the answer is one of these fixed texts and the reason goes to the log.
var protocolMessages = map[int]struct{ code, text string }{
	fiber.StatusBadRequest:                  {"bad_request", "malformed HTTP request"},
	fiber.StatusNotFound:                    {"not_found", "no such endpoint"},
	fiber.StatusMethodNotAllowed:            {"method_not_allowed", "method not allowed on this endpoint"},
	fiber.StatusRequestTimeout:              {"request_timeout", "the request was not received in time"},
	fiber.StatusRequestEntityTooLarge:       {"body_too_large", "request body too large"},
	fiber.StatusRequestHeaderFieldsTooLarge: {"headers_too_large", "request header fields too large"},
}

// errorHandler renders every error as JSON.
func (s *server) errorHandler(c *fiber.Ctx, err error) error {
	var e *Error
	var fe *fiber.Error
	switch {
	case errors.As(err, &e):
	case errors.As(err, &fe):
		m, ok := protocolMessages[fe.Code]
		if !ok {
			m.code, m.text = "http_error", http.StatusText(fe.Code)
		}
		e = &Error{Status: fe.Code, Code: m.code, Message: m.text}
		if fe.Code != fiber.StatusNotFound && fe.Code != fiber.StatusMethodNotAllowed {
			s.Log.Info("HTTP protocol error", "status", fe.Code, "reason", protocolReason(fe.Message), "remote", c.IP())
		}
	default:
		e = &Error{Status: fiber.StatusInternalServerError, Code: "internal", Message: err.Error()}
	}
	switch {
	case e.retryAfter != "":
		c.Set(fiber.HeaderRetryAfter, e.retryAfter)
	case e.Status == fiber.StatusTooManyRequests:
		c.Set(fiber.HeaderRetryAfter, "1")
	}
	if e.Status == fiber.StatusUnauthorized {
		c.Set("WWW-Authenticate", `Bearer realm="sim-modem-api"`)
	}
	return c.Status(e.Status).JSON(e)
}

// protocolReason is fasthttp's reason for refusing a request without the
// copy of the request it appends (". Buffer size=N, contents: ..."), which
// may hold a key, and at most 200 bytes of it.
func protocolReason(msg string) string {
	for _, cut := range []string{". Buffer size=", "contents:"} {
		if i := strings.Index(msg, cut); i >= 0 {
			msg = msg[:i]
		}
	}
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}

// decodeStrict decodes the body into v: one JSON object, no unknown
// fields, nothing after it.
func decodeStrict(c *fiber.Ctx, v any) error {
	body := c.Body()
	if len(strings.TrimSpace(string(body))) == 0 {
		return badRequest("empty body; want a JSON object")
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			f := te.Field
			if f == "" {
				f = "(body)"
			}
			return badRequest(fmt.Sprintf("%s: must be a JSON %s", f, jsonType(te.Type.Kind().String())), FieldMessage{f, "must be a JSON " + jsonType(te.Type.Kind().String())})
		case errors.As(err, &se):
			return badRequest(fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, err))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return badRequest("unknown field "+strconvQuote(f), FieldMessage{f, "unknown field"})
		default:
			return badRequest("malformed JSON: " + err.Error())
		}
	}
	if dec.More() {
		return badRequest("trailing data after the JSON object")
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); err == nil {
		return badRequest("trailing data after the JSON object")
	}
	return nil
}

func strconvQuote(s string) string { b, _ := json.Marshal(s); return string(b) }

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "bool":
		return "boolean"
	case "struct", "map":
		return "object"
	case "slice", "array":
		return "array"
	}
	return "number"
}
