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
	stored, live := true, s.SnapshotChanged != nil
	if v, ok := q["types"]; ok {
		stored, live = false, false
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == EventModemStatus || t == "modem.*" || t == "*" {
				live = s.SnapshotChanged != nil
				if t == EventModemStatus {
					continue
				}
			}
			if !store.ValidEventPattern(t) {
				return queryError("types", strconvQuote(t)+" is no event type; want types like "+strings.Join(store.EventTypes[:3], ", ")+
					", families like message.*, "+EventModemStatus+", or *")
			}
			types, stored = append(types, t), true
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
		src := eventSource{st: st, stored: stored, after: after, types: types}
		if live {
			src.status, src.statusChanged = s.statusJSON, s.SnapshotChanged
		}
		if err := streamEvents(stop, src, w, keepAlive, deadline); err != nil && stop.Err() == nil {
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

// EventModemStatus is the event stream's live view of the modem's status:
// its data is what GET /v1/modem/status answers, sent when the stream
// opens and on every refresh of the status snapshot (every poll). It is
// not stored and has no id (a resumed stream gets the current status
// anew), and webhooks do not receive it: the stored modem.* events report
// the changes users act on.
const EventModemStatus = "modem.status"

// eventSource is what one stream sends: the stored events after seq
// after (if stored) matching types, and, if status is set, the live
// modem.status.
type eventSource struct {
	st            EventStore
	stored        bool
	after         int64
	types         []string
	status        func() []byte          // the status JSON; nil: no modem.status
	statusChanged func() <-chan struct{} // closed on the next status refresh
}

// streamEvents writes src's events, then follows the log (and the status)
// until stop ends or a write fails. It re-reads the store by seq on every
// wake-up, so an append is never skipped and never sent twice.
// beforeFlush is called before every flush (it renews the connection's
// write deadline).
func streamEvents(stop context.Context, src eventSource, w *bufio.Writer, keepAlive time.Duration, beforeFlush func()) error {
	after := src.after
	// retry: the reconnect delay an EventSource uses.
	if _, err := w.WriteString("retry: 2000\n: stream of events after " + strconv.FormatInt(after, 10) + "\n\n"); err != nil {
		return err
	}
	var statusCh <-chan struct{}
	writeStatus := func() {
		statusCh = src.statusChanged() // before reading: no refresh is missed
		w.WriteString("event: " + EventModemStatus + "\ndata: ")
		w.Write(src.status())
		w.WriteString("\n\n")
	}
	if src.status != nil {
		writeStatus()
	}
	beforeFlush()
	if err := w.Flush(); err != nil {
		return err
	}
	ka := time.NewTicker(keepAlive)
	defer ka.Stop()
	for {
		var changed <-chan struct{} // nil: waits for ever
		if src.stored {
			changed = src.st.EventsChanged() // before reading: no append is missed
			evs, err := src.st.Events(stop, after, src.types, streamBatch)
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
		}
		select {
		case <-stop.Done():
			return stop.Err()
		case <-changed:
		case <-statusCh:
			writeStatus()
			beforeFlush()
			if err := w.Flush(); err != nil {
				return err
			}
		case <-ka.C:
			w.WriteString(": keep-alive\n\n")
			beforeFlush()
			if err := w.Flush(); err != nil {
				return err
			}
		}
	}
}
