package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/metrics"
)

// ---- several instances: forwarding a modem's operations to its owner
//
// With several api instances on one database (cluster mode), each modem is
// driven by the one instance that holds its lease: its relay session,
// scheduler and poller run there only. Any instance answers any request;
// a request that operates on a modem driven by another instance is
// forwarded there (forward), and GET /v1/modems shows who drives each
// modem and that instance's view of it (modems.go). Modem.Owner nil is a
// single instance: every modem is local, nothing is forwarded.

// ForwardedHeader marks a request that an instance forwarded to the owner
// of its modem; its value is the forwarding instance's name. A request
// that carries it is never forwarded again: an instance that does not
// drive the modem either refuses it (503 not_owner) or, for GET
// /v1/modems, shows what it knows without asking further.
const ForwardedHeader = "X-Sim-Modem-Api-Forwarded"

// Owner is the instance that drives a modem (holds its lease), as this
// instance sees it.
type Owner struct {
	Instance string    // its name (API_INSTANCE)
	URL      string    // its HTTP API's base URL (API_ADVERTISE_URL)
	Since    time.Time // when it took the modem (acquired the lease)
	Local    bool      // it is this instance
	// Known is false when no instance holds the modem's lease now (the
	// other fields are then empty): between an owner's end and a
	// take-over.
	Known bool
}

// OwnerResponse is a modem's owner in GET /v1/modems.
type OwnerResponse struct {
	Instance string    `json:"instance"`
	URL      string    `json:"url"`
	Since    time.Time `json:"since"`
	Local    bool      `json:"local"` // the instance that answers
}

func ownerResponse(o Owner) *OwnerResponse {
	return &OwnerResponse{Instance: o.Instance, URL: o.URL, Since: o.Since, Local: o.Local}
}

const (
	// maxRawTimeout is the largest timeoutMs of a raw AT command.
	maxRawTimeout = 120 * time.Second
	// maxForwardedBody bounds the owner's answer to a forwarded request.
	maxForwardedBody = 16 << 20
	// noOwnerRetryAfter is the Retry-After of a request on a modem no
	// instance drives: a standby instance tries to take the modem every
	// heartbeat (2 s by default).
	noOwnerRetryAfter = "2"
)

// hopHeaders are not passed on by a proxy (RFC 9110 7.6.1), nor are Host
// and Content-Length, which the forwarded request sets itself.
var hopHeaders = map[string]bool{
	"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Proxy-Authenticate": true,
	"Proxy-Authorization": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"Host": true, "Content-Length": true, "Date": true,
}

// forwardBudget is the most a forwarded request may take: the longest an
// owner spends on one (a raw AT command with the largest timeout, or a
// USSD session) and a command timeout's margin. The owner bounds its own
// work by the same settings, so this only ends a request to an owner
// that hangs.
func (s *server) forwardBudget() time.Duration {
	return s.RequestTimeout + max(s.USSDTimeout, maxRawTimeout+s.SMSTimeout, s.CommandTimeout) + s.shortTimeout()
}

// shortTimeout bounds what should be quick: connecting to the owner,
// asking for its view of a modem (GET /v1/modems), looking the owner up.
// It is the AT command timeout (API_COMMAND_TIMEOUT), 3 s if unset.
func (s *server) shortTimeout() time.Duration {
	if s.CommandTimeout > 0 {
		return s.CommandTimeout
	}
	return 3 * time.Second
}

// newForwardClient is the client of forwarded requests: no redirects
// followed (the owner's answer is passed on as it is) and no keep-alive,
// so that a POST never goes out on a connection to an owner that has
// since gone (such a request is not retried).
func (s *server) newForwardClient() *http.Client {
	return &http.Client{
		Timeout: s.forwardBudget(),
		Transport: &http.Transport{
			DialContext:           (&net.Dialer{Timeout: s.shortTimeout(), KeepAlive: 15 * time.Second}).DialContext,
			DisableKeepAlives:     true,
			DisableCompression:    true,
			TLSHandshakeTimeout:   s.shortTimeout(),
			ResponseHeaderTimeout: s.forwardBudget(),
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// owner looks up who drives m; remote is false for a single instance
// (Owner nil) and when this instance drives it.
func (s *server) owner(m *Modem) (o Owner, remote bool) {
	if m.Owner == nil {
		return Owner{Local: true, Known: true}, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.shortTimeout())
	defer cancel()
	o = m.Owner(ctx)
	return o, !o.Local
}

// countForward counts a request on m this instance did not serve itself.
func countForward(m *Modem, result string) {
	if m.Metrics != nil {
		m.Metrics.Forwarded(result)
	}
}

// forwardDefault forwards a single-modem route's request to the instance
// that drives the default modem, if another one does.
func (s *server) forwardDefault(c *fiber.Ctx) error { return s.forward(c, s.Modems[0]) }

// forwardOriginal is forwardDefault for the original REST server's
// endpoints: a refusal is in their shape, UNAVAILABLE.
func (s *server) forwardOriginal(c *fiber.Ctx) error {
	err := s.forward(c, s.Modems[0])
	var e *Error
	if errors.As(err, &e) && forwardCodes[e.Code] {
		if e.retryAfter != "" {
			c.Set(fiber.HeaderRetryAfter, e.retryAfter)
		}
		return c.Status(e.Status).JSON(OriginalResponse{Result: ResultUnavailable, ExecutedCommands: []modemops.Exchange{}, Error: e.Message})
	}
	return err
}

// forwardCodes are the error codes of forward's refusals.
var forwardCodes = map[string]bool{"no_owner": true, "not_owner": true, "owner_unreachable": true}

// forwardModem forwards a /v1/modems/{id}/… request to the instance that
// drives modem {id}, if another one does (an unknown id is perModem's
// 404).
func (s *server) forwardModem(c *fiber.Ctx) error {
	m, ok := s.modems[c.Params("id")]
	if !ok {
		return c.Next()
	}
	return s.forward(c, m)
}

// forward runs the route's handler if this instance drives m; otherwise
// it passes the request to the owner (same method, path, query, headers
// and body, with ForwardedHeader) and answers with the owner's status,
// headers and body. It refuses with 503 no_owner when no instance drives
// m, 503 not_owner when the request was already forwarded (no loops), and
// answers 502 owner_unreachable when the owner does not answer.
func (s *server) forward(c *fiber.Ctx, m *Modem) error {
	o, remote := s.owner(m)
	if !remote {
		return c.Next()
	}
	if err := s.refuse(c, m, o); err != nil {
		return err
	}
	req, err := s.forwardRequest(c, o)
	if err != nil {
		return err
	}
	resp, err := s.forwardClient.Do(req)
	if err != nil {
		countForward(m, metrics.ForwardUnreachable)
		s.Log.Warn("forwarding to the modem's owner", "modem", m.ID, "owner", o.Instance, "url", o.URL, "err", err)
		return unreachable(m, o, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxForwardedBody+1))
	if err == nil && len(body) > maxForwardedBody {
		err = fmt.Errorf("its answer is over %d bytes", maxForwardedBody)
	}
	if err != nil {
		countForward(m, metrics.ForwardUnreachable)
		return unreachable(m, o, fmt.Errorf("reading its answer: %w", err))
	}
	countForward(m, metrics.ForwardAnswered)
	for k, vs := range resp.Header {
		if hopHeaders[http.CanonicalHeaderKey(k)] {
			continue
		}
		c.Response().Header.Del(k)
		for _, v := range vs {
			c.Response().Header.Add(k, v)
		}
	}
	c.Status(resp.StatusCode)
	return c.Send(body)
}

// refuse is the error for a request on m, driven by o elsewhere, that is
// not forwarded: no owner, or forwarded already. nil: forward it.
func (s *server) refuse(c *fiber.Ctx, m *Modem, o Owner) *Error {
	if !o.Known {
		countForward(m, metrics.ForwardNoOwner)
		return noOwner(m)
	}
	if from := c.Get(ForwardedHeader); from != "" {
		countForward(m, metrics.ForwardLoop)
		return &Error{Status: fiber.StatusServiceUnavailable, Code: "not_owner", retryAfter: "1",
			Message: fmt.Sprintf("instance %s does not drive modem %s: instance %s (%s) does; the request was forwarded here by %s and is not forwarded again",
				s.Instance, m.ID, o.Instance, o.URL, from)}
	}
	return nil
}

func noOwner(m *Modem) *Error {
	return &Error{Status: fiber.StatusServiceUnavailable, Code: "no_owner", Message: "no instance drives modem " + m.ID + " now",
		retryAfter: noOwnerRetryAfter}
}

func unreachable(m *Modem, o Owner, err error) *Error {
	return &Error{Status: fiber.StatusBadGateway, Code: "owner_unreachable",
		Message: fmt.Sprintf("instance %s (%s) drives modem %s and did not answer: %v", o.Instance, o.URL, m.ID, err)}
}

// forwardRequest is c's request as it goes to the owner o.
func (s *server) forwardRequest(c *fiber.Ctx, o Owner) (*http.Request, error) {
	// The raw body (c.Body would decode a Content-Encoding that the
	// forwarded headers still name).
	body := bytes.Clone(c.Request().Body())
	req, err := http.NewRequestWithContext(context.Background(), c.Method(), strings.TrimRight(o.URL, "/")+c.OriginalURL(), bytes.NewReader(body))
	if err != nil {
		return nil, &Error{Status: fiber.StatusBadGateway, Code: "owner_unreachable",
			Message: fmt.Sprintf("instance %s has an unusable URL %q: %v", o.Instance, o.URL, err)}
	}
	c.Request().Header.VisitAll(func(k, v []byte) {
		if key := string(k); !hopHeaders[http.CanonicalHeaderKey(key)] {
			req.Header.Add(key, string(v))
		}
	})
	req.Header.Set(ForwardedHeader, s.Instance)
	if prior := req.Header.Get("X-Forwarded-For"); prior != "" {
		req.Header.Set("X-Forwarded-For", prior+", "+c.IP())
	} else {
		req.Header.Set("X-Forwarded-For", c.IP())
	}
	return req, nil
}

// ownerView asks the owner o for its view of m (GET /v1/modems/{id}, with
// the caller's key and ForwardedHeader) within the short timeout.
func (s *server) ownerView(ctx context.Context, m *Modem, o Owner, auth string) (ModemResponse, error) {
	var r ModemResponse
	ctx, cancel := context.WithTimeout(ctx, s.shortTimeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(o.URL, "/")+"/v1/modems/"+url.PathEscape(m.ID), nil)
	if err != nil {
		return r, fmt.Errorf("its URL %q: %w", o.URL, err)
	}
	if auth != "" {
		req.Header.Set(fiber.HeaderAuthorization, auth)
	}
	req.Header.Set(ForwardedHeader, s.Instance)
	resp, err := s.forwardClient.Do(req)
	if err != nil {
		countForward(m, metrics.ForwardUnreachable)
		return r, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxForwardedBody))
	if err != nil {
		countForward(m, metrics.ForwardUnreachable)
		return r, fmt.Errorf("reading its answer: %w", err)
	}
	countForward(m, metrics.ForwardAnswered)
	if resp.StatusCode != http.StatusOK {
		var e Error
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			return r, fmt.Errorf("it answered %d: %s", resp.StatusCode, e.Message)
		}
		return r, fmt.Errorf("it answered %d", resp.StatusCode)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("its answer: %w", err)
	}
	if r.Status.Snapshot == nil || r.ID != m.ID {
		return r, fmt.Errorf("its answer is not modem %s's view", m.ID)
	}
	return r, nil
}
