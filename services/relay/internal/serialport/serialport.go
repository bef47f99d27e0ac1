// Package serialport opens the modem's AT port: it resolves the configured
// device (a path, a symlink or a glob), configures it raw 8N1 through
// go.bug.st/serial, and reads and writes it through Go's runtime poller
// (an *os.File on a non-blocking descriptor of the same device, read and
// written with raw system calls, package rawfd), so that a reader waiting
// for the modem costs no thread and no polling.
package serialport

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.bug.st/serial"

	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/rawfd"
)

// Port is an open serial device. Read blocks until the device sends bytes,
// fails, or the port is closed (Close may be called from another goroutine
// to stop a reader; it is idempotent). Any error means the device is gone,
// broken or closed.
type Port interface {
	io.ReadWriteCloser
}

// Opener opens the configured device.
type Opener interface {
	// Open opens the device. It returns an error wrapping ErrNotFound when
	// the device does not exist (yet), and the resolved path on success.
	Open() (Port, string, error)
}

// ErrNotFound means the device (or no match of the glob) exists.
var ErrNotFound = errors.New("serial device not found")

// Device opens a serial device with go.bug.st/serial.
type Device struct {
	// Pattern is a path, a symlink or a glob. A glob uses the first match in
	// sorted (lexical) order, e.g. /dev/ttyUSB* picks /dev/ttyUSB0 before
	// /dev/ttyUSB1 (and /dev/ttyUSB10 before /dev/ttyUSB2).
	Pattern string
	// Baud is the speed; the port is always raw 8N1 without flow control.
	Baud int
}

var _ Opener = (*Device)(nil)

// Resolve returns the path Pattern stands for now, or an error wrapping
// ErrNotFound.
func Resolve(pattern string) (string, error) {
	if !strings.ContainsAny(pattern, `*?[\`) {
		if _, err := os.Stat(pattern); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("%s: %w", pattern, ErrNotFound)
			}
			return "", fmt.Errorf("stat %s: %w", pattern, err)
		}
		return pattern, nil
	}
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return "", fmt.Errorf("glob %s: %w", pattern, err)
	}
	sort.Strings(matches)
	for _, m := range matches {
		if _, err := os.Stat(m); err == nil { // skip dangling links
			return m, nil
		}
	}
	return "", fmt.Errorf("no match for %s: %w", pattern, ErrNotFound)
}

// Open resolves Pattern and opens the device raw, 8N1, at Baud.
//
// Two descriptors of the device are opened. The first, non-blocking, is
// the one read and written, through Go's runtime poller: a reader waiting
// for the modem parks in the poller (epoll) instead of blocking a thread in
// select(2) as go.bug.st/serial's Read does, which kept the runtime's
// monitor thread busy. The second is go.bug.st/serial's, which configures
// the line (termios is the device's, shared by both) and takes exclusive
// access (TIOCEXCL) after the first is open, so that no other process can
// open the modem meanwhile. Closing the port closes both.
func (d *Device) Open() (Port, string, error) {
	path, err := Resolve(d.Pattern)
	if err != nil {
		return nil, "", err
	}
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("open %s: %w: %w", path, ErrNotFound, err)
		}
		return nil, "", fmt.Errorf("open %s: %w", path, err)
	}
	conf, err := serial.Open(path, &serial.Mode{
		BaudRate: d.Baud,
		DataBits: 8,
		Parity:   serial.NoParity,
		StopBits: serial.OneStopBit,
	})
	if err != nil {
		f.Close()
		var pe *serial.PortError
		if errors.As(err, &pe) && pe.Code() == serial.PortNotFound || errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("open %s: %w: %w", path, ErrNotFound, err)
		}
		return nil, "", fmt.Errorf("open %s at %d baud: %w", path, d.Baud, err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		conf.Close()
		f.Close()
		return nil, "", fmt.Errorf("open %s: raw descriptor: %w", path, err)
	}
	return &port{f: f, rc: rc, conf: conf}, path, nil
}

// port reads and writes f through the runtime poller, with raw system
// calls (package rawfd); conf keeps the line's configuration and
// exclusive access while the port is open.
type port struct {
	f      *os.File
	rc     syscall.RawConn // f's
	conf   serial.Port
	closed atomic.Bool
	once   sync.Once
	err    error // of the first Close
}

// Read waits in the poller until the device sends bytes, fails or the
// port is closed (then the error wraps fs.ErrClosed).
func (p *port) Read(b []byte) (int, error) {
	n, err := rawfd.Read(p.rc, b)
	if err != nil {
		return n, p.ioError("read", err)
	}
	return n, nil
}

// Write writes all of b, waiting in the poller while the device's buffer
// is full.
func (p *port) Write(b []byte) (int, error) {
	n, err := rawfd.Write(p.rc, b)
	if err != nil {
		return n, p.ioError("write", err)
	}
	return n, nil
}

// ioError wraps err with its operation; once the port is closed it wraps
// fs.ErrClosed, as os.File does (its raw I/O reports the closing poller's
// own error instead).
func (p *port) ioError(op string, err error) error {
	if p.closed.Load() && !errors.Is(err, fs.ErrClosed) {
		return fmt.Errorf("serial %s: %w (%v)", op, fs.ErrClosed, err)
	}
	return fmt.Errorf("serial %s: %w", op, err)
}

// SetReadDeadline bounds the next reads, as on a network connection (for
// tools and tests that read the device directly; the relay closes the port
// to stop its reader instead).
func (p *port) SetReadDeadline(t time.Time) error { return p.f.SetReadDeadline(t) }

// Close closes both descriptors; a Read or Write in progress returns an
// error wrapping fs.ErrClosed (os.File defers the close(2) until it is out).
func (p *port) Close() error {
	p.once.Do(func() {
		p.closed.Store(true)
		ferr := p.f.Close()
		cerr := p.conf.Close()
		if err := errors.Join(ferr, cerr); err != nil {
			p.err = fmt.Errorf("serial close: %w", err)
		}
	})
	return p.err
}
