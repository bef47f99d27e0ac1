package at

// dispatchLoop is the dispatcher goroutine: it calls the handlers of
// queued URCs in arrival order, so that a slow handler never stalls the
// reader. When the reader has ended it delivers what is queued and ends
// the engine.
func (e *Engine) dispatchLoop() {
	defer close(e.done)
	for {
		select {
		case <-e.queuec:
			e.drain()
		case <-e.stopped:
			e.drain()
			return
		}
	}
}

// drain delivers the queued URCs.
func (e *Engine) drain() {
	for {
		e.mu.Lock()
		if len(e.queue) == 0 {
			e.queue = nil
			e.mu.Unlock()
			return
		}
		u := e.queue[0]
		e.queue[0] = URC{}
		e.queue = e.queue[1:]
		h := e.handlers[u.Name]
		e.mu.Unlock()
		if h == nil {
			h = e.cfg.defaultH
		}
		if h == nil {
			h = e.logURC
		}
		h(u)
	}
}

// logURC is the default handler when none is set: nothing unsolicited is
// dropped without a trace.
func (e *Engine) logURC(u URC) {
	switch {
	case u.Late:
		e.log.Warn("at: late line from an abandoned command", "line", u.Line)
	case u.Name == "":
		e.log.Info("at: unsolicited line", "line", u.Line)
	default:
		e.log.Info("at: unhandled URC", "name", u.Name, "line", u.Line, "pdu", u.PDU)
	}
}
