// Package serialport opens the modem's AT port: it resolves the configured
// device (a path, a symlink or a glob), opens it raw 8N1 through
// go.bug.st/serial, and hides the library behind a small interface so that
// the relay can be driven by any port, such as a pty in tests.
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
	"time"

	"go.bug.st/serial"
)

// Port is an open serial device. Read returns (0, nil) when a read timeout
// set at open elapses without data, so that the reader can check for
// cancellation; any error means the device is gone or broken.
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
	// ReadTimeout makes Read return (0, nil) after this long without data;
	// 0 means 250ms.
	ReadTimeout time.Duration
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
func (d *Device) Open() (Port, string, error) {
	path, err := Resolve(d.Pattern)
	if err != nil {
		return nil, "", err
	}
	p, err := serial.Open(path, &serial.Mode{
		BaudRate: d.Baud,
		DataBits: 8,
		Parity:   serial.NoParity,
		StopBits: serial.OneStopBit,
	})
	if err != nil {
		var pe *serial.PortError
		if errors.As(err, &pe) && pe.Code() == serial.PortNotFound || errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("open %s: %w: %w", path, ErrNotFound, err)
		}
		return nil, "", fmt.Errorf("open %s at %d baud: %w", path, d.Baud, err)
	}
	rt := d.ReadTimeout
	if rt <= 0 {
		rt = 250 * time.Millisecond
	}
	if err := p.SetReadTimeout(rt); err != nil {
		p.Close()
		return nil, "", fmt.Errorf("set read timeout on %s: %w", path, err)
	}
	return &port{p: p}, path, nil
}

// port makes Close safe against a concurrent Write: go.bug.st/serial closes
// the file descriptor without waiting for writers, which could then write to
// a reused descriptor.
type port struct {
	mu     sync.RWMutex
	p      serial.Port
	closed bool
}

func (p *port) Read(b []byte) (int, error) {
	n, err := p.p.Read(b)
	if err != nil {
		return n, fmt.Errorf("serial read: %w", err)
	}
	return n, nil
}

func (p *port) Write(b []byte) (int, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return 0, fmt.Errorf("serial write: %w", fs.ErrClosed)
	}
	total := 0
	for total < len(b) {
		n, err := p.p.Write(b[total:])
		total += n
		if err != nil {
			return total, fmt.Errorf("serial write: %w", err)
		}
		if n == 0 {
			return total, errors.New("serial write: device accepted no bytes")
		}
	}
	return total, nil
}

func (p *port) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	if err := p.p.Close(); err != nil {
		return fmt.Errorf("serial close: %w", err)
	}
	return nil
}
