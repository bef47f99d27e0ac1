package mqttbridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/submit"
)

// MaxCommand is the largest command payload taken (a 255-part UCS-2
// message is about 17 000 characters of text, as JSON up to 6 bytes each).
const MaxCommand = 128 << 10

// Command is the JSON of <prefix>/send: {"to", "text", "id", "modem"}.
// id is the client's key: a redelivery (or a second publish) with the same
// id and body is accepted once.
type Command struct {
	ID    string  `json:"id,omitempty"`
	To    string  `json:"to"`
	Text  *string `json:"text"`
	Modem string  `json:"modem,omitempty"`
}

// ParseCommand decodes a send command strictly: one JSON object, known
// fields only, nothing after it.
func ParseCommand(b []byte) (Command, error) {
	var c Command
	if len(b) > MaxCommand {
		return c, fmt.Errorf("the command is %d bytes, over %d", len(b), MaxCommand)
	}
	if !utf8.Valid(b) {
		return c, errors.New("the command is not UTF-8")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&c); err != nil {
		return Command{}, fmt.Errorf("want a JSON object {\"to\", \"text\", \"id\", \"modem\"}: %v", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return Command{}, errors.New("want one JSON object, found more after it")
	}
	return c, nil
}

// Request is the command as the accept path takes it.
func (c Command) Request() submit.Request {
	return submit.Request{ID: c.ID, To: c.To, Text: c.Text, Modem: c.Modem}
}

// ParseNotify reads a Home Assistant notify entity's message: the text,
// sent to defaultTo, or "+<number>: text" (the number in international
// form, then a colon), sent to that number.
func ParseNotify(payload []byte, defaultTo string) (to, text string, err error) {
	s := string(payload)
	if !utf8.ValidString(s) {
		return "", "", errors.New("the message is not UTF-8")
	}
	if strings.HasPrefix(s, "+") {
		if num, rest, ok := strings.Cut(s, ":"); ok && len(num) >= 4 && len(num) <= 16 && strings.Trim(num[1:], "0123456789") == "" {
			return num, strings.TrimPrefix(rest, " "), nil
		}
	}
	if defaultTo == "" {
		return "", s, errors.New("the message names no recipient (start it with \"+<number>: \") and API_MQTT_NOTIFY_TO is not set")
	}
	return defaultTo, s, nil
}

// Result is what <prefix>/send/result carries for every command.
type Result struct {
	// ID is the command's id ("" if it had none or was not JSON).
	ID string `json:"id"`
	// Source is the topic of the command.
	Source string `json:"source"`
	// Status is accepted (stored in the outbox), duplicate (the same id
	// and body were accepted before: nothing new is sent) or error.
	Status  string         `json:"status"`
	Message *ResultMessage `json:"message,omitempty"`
	Error   *ResultError   `json:"error,omitempty"`
}

// ResultMessage is the accepted message: its outcome follows as
// message.sent, message.delivered or message.failed events.
type ResultMessage struct {
	ID        string `json:"id"`
	To        string `json:"to"`
	State     string `json:"state"`
	PartCount int    `json:"partCount"`
}

// ResultError says why a command was refused.
type ResultError struct {
	Code    string        `json:"code"` // invalid, conflict, internal
	Message string        `json:"message"`
	Fields  []ResultField `json:"fields,omitempty"`
}

// ResultField names one bad field of a command.
type ResultField struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// errorResult maps err of the accept path to the result's error.
func errorResult(err error) *ResultError {
	var inv *submit.InvalidError
	if errors.As(err, &inv) {
		re := &ResultError{Code: "invalid", Message: err.Error()}
		for _, f := range inv.Fields {
			re.Fields = append(re.Fields, ResultField{f.Name, f.Message})
		}
		return re
	}
	if isConflict(err) {
		return &ResultError{Code: "conflict", Message: err.Error()}
	}
	return &ResultError{Code: "internal", Message: err.Error()}
}
