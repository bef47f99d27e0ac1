package mosquittotest

import (
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// front is the broker's public address: a TCP forwarder on Broker.Addr to
// mosquitto's own loopback port. It listens only while mosquitto runs, so
// that a client of a stopped broker is refused as it would be without it,
// and it can hold the connections it accepts until it is opened, so that a
// test's subscriber reaches a restarted broker before anyone else does
// (RestartSubscribed). Bytes pass unchanged both ways; when either side
// closes, both are closed.
type front struct {
	addr, broker string

	mu    sync.Mutex
	ln    net.Listener
	open  chan struct{} // closed when accepted connections may go through
	gone  chan struct{} // closed by stop: held connections are dropped
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup // the accept loop and every connection's goroutines
}

// listen starts accepting on addr; held says whether connections wait for
// release before they reach the broker.
func (f *front) listen(held bool) error {
	var ln net.Listener
	var err error
	// The address was this front's a moment ago: retry briefly in case the
	// kernel has not let go of it yet.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if ln, err = net.Listen("tcp", f.addr); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("listen on the broker's address %s: %w", f.addr, err)
	}
	f.mu.Lock()
	f.ln, f.open, f.gone, f.conns = ln, make(chan struct{}), make(chan struct{}), map[net.Conn]struct{}{}
	open, gone := f.open, f.gone
	f.mu.Unlock()
	if !held {
		close(open)
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // stop closed the listener
			}
			if !f.track(c) {
				return
			}
			f.wg.Add(1)
			go func() { defer f.wg.Done(); f.forward(c, open, gone) }()
		}
	}()
	return nil
}

// release lets the held connections, and every later one, through.
func (f *front) release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	select {
	case <-f.open:
	default:
		close(f.open)
	}
}

// track records c so that stop closes it; false (and c closed) if the
// front is stopping.
func (f *front) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		c.Close()
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

// forward waits until the front is open, then pipes c to the broker.
func (f *front) forward(c net.Conn, open, gone <-chan struct{}) {
	select {
	case <-open:
	case <-gone:
		return // stop closed c
	}
	b, err := net.Dial("tcp", f.broker)
	if err != nil {
		c.Close() // the broker is gone: the client sees the connection drop
		return
	}
	if !f.track(b) {
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) { _, _ = io.Copy(dst, src); done <- struct{}{} }
	go pipe(b, c)
	go pipe(c, b)
	<-done // one side ended: end both
	c.Close()
	b.Close()
	<-done
}

// stop closes the listener and every connection, and waits for the
// goroutines. Stopping a stopped front does nothing.
func (f *front) stop() {
	f.mu.Lock()
	if f.ln == nil {
		f.mu.Unlock()
		return
	}
	f.ln.Close()
	close(f.gone)
	for c := range f.conns {
		c.Close()
	}
	f.ln, f.conns = nil, nil
	f.mu.Unlock()
	f.wg.Wait()
}
