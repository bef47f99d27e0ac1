package httpapi

import (
	"bufio"
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// Defaults of the event stream.
const (
	DefaultMaxStreams = 32
	DefaultKeepAlive  = 15 * time.Second
	// streamBatch is how many events one read of the log returns.
	streamBatch = 500
)

// eventStream is GET /v1/events: the event log as text/event-stream.
// Each event is "id: <seq>", "event: <type>", "data: <the event's JSON>".
// It resumes after Last-Event-ID (what a reconnecting EventSource sends)
// or ?after=, out of the stored log, then follows live appends; without
// either it starts with the next event. ?types= filters (comma-separated
// types or families like message.*). A comment every KeepAlive keeps
// proxies from closing an idle stream and notices a client that left.
func (s *server) eventStream(c *fiber.Ctx) error {
	st, err := s.events()
	if err != nil {
		return err
	}
	q, err := queryParams(c, "types", "after")
	if err != nil {
		return err
	}
	var types []string
	if v, ok := q["types"]; ok {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if !store.ValidEventPattern(t) {
				return queryError("types", strconvQuote(t)+" is no event type; want types like "+strings.Join(store.EventTypes[:3], ", ")+
					", families like message.*, or *")
			}
			types = append(types, t)
		}
	}
	after := int64(-1)
	if v, ok := q["after"]; ok {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return queryError("after", "want an event's seq (the id: of the stream), 0 for the oldest kept")
		}
	}
	if v := strings.TrimSpace(c.Get("Last-Event-ID")); v != "" { // newer than the URL's ?after= on a reconnect
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return badRequest("Last-Event-ID: want an event's seq", FieldMessage{"Last-Event-ID", "want an event's seq"})
		}
		after = n
	}
	if after < 0 {
		if after, err = st.LastEventSeq(c.UserContext()); err != nil {
			s.Log.Error("event stream: reading the log", "err", err)
			return webhookStoreErr(err, "")
		}
	}
	limit := s.MaxStreams
	if limit <= 0 {
		limit = DefaultMaxStreams
	}
	if n := s.streams.Add(1); n > int64(limit) {
		s.streams.Add(-1)
		c.Set(fiber.HeaderRetryAfter, "5")
		return &Error{Status: fiber.StatusServiceUnavailable, Code: "too_many_streams",
			Message: "already " + strconv.Itoa(limit) + " event streams open (API_SSE_MAX_STREAMS); retry later"}
	}
	s.streamsChanged()
	keepAlive := s.KeepAlive
	if keepAlive <= 0 {
		keepAlive = DefaultKeepAlive
	}
	stop := s.StreamStop
	if stop == nil {
		stop = context.Background()
	}
	c.Set(fiber.HeaderContentType, "text/event-stream; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	log := s.Log
	// A client that stops reading (its TCP window full) would block the
	// writer for ever: each flush must reach the socket within stall, or
	// the connection's write deadline ends the stream.
	conn := c.Context().Conn()
	stall := max(2*keepAlive, time.Second)
	// The writer runs after the handler returned, in fasthttp's goroutine:
	// it must not touch c. A write or flush error means the client left.
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer func() {
			_ = conn.SetWriteDeadline(time.Time{}) // the connection may serve another request
			s.streams.Add(-1)
			s.streamsChanged()
		}()
		deadline := func() { _ = conn.SetWriteDeadline(time.Now().Add(stall)) }
		if err := streamEvents(stop, st, w, after, types, keepAlive, deadline); err != nil && stop.Err() == nil {
			log.Debug("event stream ended", "err", err)
		}
	})
	return nil
}

func (s *server) streamsChanged() {
	if s.OnStreams != nil {
		s.OnStreams(int(s.streams.Load()))
	}
}

// streamEvents writes the events after seq after, then follows the log
// until stop ends or a write fails. It re-reads the store by seq on every
// wake-up, so an append is never skipped and never sent twice.
// beforeFlush is called before every flush (it renews the connection's
// write deadline).
func streamEvents(stop context.Context, st EventStore, w *bufio.Writer, after int64, types []string, keepAlive time.Duration, beforeFlush func()) error {
	// retry: the reconnect delay an EventSource uses.
	if _, err := w.WriteString("retry: 2000\n: stream of events after " + strconv.FormatInt(after, 10) + "\n\n"); err != nil {
		return err
	}
	beforeFlush()
	if err := w.Flush(); err != nil {
		return err
	}
	ka := time.NewTicker(keepAlive)
	defer ka.Stop()
	for {
		changed := st.EventsChanged() // before reading: no append is missed
		evs, err := st.Events(stop, after, types, streamBatch)
		if err != nil {
			return err
		}
		if len(evs) > 0 {
			beforeFlush() // the batch may fill the buffer and flush on its own
		}
		for i := range evs {
			e := &evs[i]
			w.WriteString("id: ")
			w.WriteString(strconv.FormatInt(e.Seq, 10))
			w.WriteString("\nevent: ")
			w.WriteString(e.Type)
			w.WriteString("\ndata: ")
			w.Write(e.Body()) // JSON on one line
			if _, err := w.WriteString("\n\n"); err != nil {
				return err
			}
			after = e.Seq
		}
		if len(evs) > 0 {
			beforeFlush()
			if err := w.Flush(); err != nil {
				return err
			}
			if len(evs) == streamBatch {
				continue
			}
		}
		select {
		case <-stop.Done():
			return stop.Err()
		case <-changed:
		case <-ka.C:
			w.WriteString(": keep-alive\n\n")
			beforeFlush()
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
}
