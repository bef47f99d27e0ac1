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
	// Fd is the device's non-blocking descriptor, for a caller that waits
	// for it in its own epoll set and reads and writes it itself. Such a
	// caller never calls Read, Write or SetReadDeadline (they hand the
	// descriptor to Go's runtime poller, which would then be woken by
	// every byte from the device too) and stops using the descriptor
	// before it calls Close.
	Fd() int
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
// the one read and written: by the relay's own epoll loop through Fd, or
// by Read and Write, which wait in Go's runtime poller (a reader waiting for
// the modem parks there instead of blocking a thread in select(2) as
// go.bug.st/serial's Read does, which kept the runtime's monitor thread
// busy). It is handed to the poller only on the first Read, Write or
// SetReadDeadline. The second is go.bug.st/serial's, which configures the
// line (termios is the device's, shared by both) and takes exclusive access
// (TIOCEXCL) after the first is open, so that no other process can open
// the modem meanwhile. Closing the port closes both.
func (d *Device) Open() (Port, string, error) {
	path, err := Resolve(d.Pattern)
	if err != nil {
		return nil, "", err
	}
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_NOCTTY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		err = &fs.PathError{Op: "open", Path: path, Err: err}
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
		_ = syscall.Close(fd)
		var pe *serial.PortError
		if errors.As(err, &pe) && pe.Code() == serial.PortNotFound || errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("open %s: %w: %w", path, ErrNotFound, err)
		}
		return nil, "", fmt.Errorf("open %s at %d baud: %w", path, d.Baud, err)
	}
	return &port{fd: fd, path: path, conf: conf}, path, nil
}

// port is the device's non-blocking descriptor fd, wrapped in an os.File
// in the runtime poller (read and written with raw system calls, package
// rawfd) on first use by Read, Write or SetReadDeadline; conf keeps the
// line's configuration and exclusive access while the port is open.
type port struct {
	fd   int
	path string
	conf serial.Port

	mu     sync.Mutex
	f      *os.File        // nil until first used
	rc     syscall.RawConn // f's
	closed atomic.Bool
	err    error // of the first Close
}

// Fd returns the device's non-blocking descriptor (see Port).
func (p *port) Fd() int { return p.fd }

// file returns fd in the runtime poller, wrapping it on first use.
func (p *port) file() (*os.File, syscall.RawConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return nil, nil, fs.ErrClosed
	}
	if p.f == nil {
		f := os.NewFile(uintptr(p.fd), p.path) // non-blocking: in the poller
		rc, err := f.SyscallConn()
		if err != nil {
			return nil, nil, err
		}
		p.f, p.rc = f, rc
	}
	return p.f, p.rc, nil
}

// Read waits in the poller until the device sends bytes, fails or the
// port is closed (then the error wraps fs.ErrClosed).
func (p *port) Read(b []byte) (int, error) {
	_, rc, err := p.file()
	if err != nil {
		return 0, p.ioError("read", err)
	}
	n, err := rawfd.Read(rc, b)
	if err != nil {
		return n, p.ioError("read", err)
	}
	return n, nil
}

// Write writes all of b, waiting in the poller while the device's buffer
// is full.
func (p *port) Write(b []byte) (int, error) {
	_, rc, err := p.file()
	if err != nil {
		return 0, p.ioError("write", err)
	}
	n, err := rawfd.Write(rc, b)
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
func (p *port) SetReadDeadline(t time.Time) error {
	f, _, err := p.file()
	if err != nil {
		return err
	}
	return f.SetReadDeadline(t)
}

// Close closes both descriptors; a Read or Write in progress returns an
// error wrapping fs.ErrClosed (os.File defers the close(2) until it is out).
func (p *port) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Swap(true) {
		return p.err
	}
	var ferr error
	if p.f != nil {
		ferr = p.f.Close()
	} else {
		ferr = syscall.Close(p.fd)
	}
	cerr := p.conf.Close()
	if err := errors.Join(ferr, cerr); err != nil {
		p.err = fmt.Errorf("serial close: %w", err)
	}
	return p.err
}
