//go:build linux

// Package sim puts a simulated modem (package device) on a pseudo-terminal
// linked at a path, and plugs and unplugs it like a USB stick. It is the Go
// API that in-process tests use, and what the simulator binary runs.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/sim-modem-api/sim-modem-api/simulator/device"
	"github.com/sim-modem-api/sim-modem-api/simulator/ptylink"
)

// Config configures a Simulator.
type Config struct {
	// Link is the path at which the modem's device appears, for example
	// /tmp/ttyUSB2. A stale link there is replaced.
	Link string
	// Device configures the modem; the zero value is an instant MF831 with
	// the defaults documented in package device.
	Device device.Config
	// Logger receives plug events; nil discards them.
	Logger *slog.Logger
}

// ErrClosed is returned by the methods of a closed Simulator.
var ErrClosed = errors.New("simulator closed")

// Simulator is a modem on a pty. Its methods are safe for concurrent use.
type Simulator struct {
	link   string
	dev    *device.Device
	log    *slog.Logger
	parent context.Context
	stopAF func() bool // unregisters the context.AfterFunc that closes on cancel

	mu      sync.Mutex
	closed  bool
	pty     *ptylink.Link // nil while unplugged
	cancel  context.CancelFunc
	done    chan struct{} // closed when the running session has returned
	replugT *time.Timer   // pending automatic replug, if any
}

// Start creates the modem and plugs it in: the pty exists and the link
// points to it when Start returns. Cancelling ctx closes the Simulator.
func Start(ctx context.Context, cfg Config) (*Simulator, error) {
	if cfg.Link == "" {
		return nil, errors.New("sim: Config.Link is empty: say where the device should appear")
	}
	if cfg.Device.Logger == nil {
		cfg.Device.Logger = cfg.Logger
	}
	dev, err := device.New(cfg.Device)
	if err != nil {
		return nil, fmt.Errorf("create modem: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Simulator{link: cfg.Link, dev: dev, log: log, parent: ctx}
	if err := s.plugLocked(); err != nil {
		return nil, err
	}
	s.stopAF = context.AfterFunc(ctx, func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			s.log.Error("close on context cancel", "err", err)
		}
	})
	return s, nil
}

// Link is the path at which the device appears while plugged in.
func (s *Simulator) Link() string { return s.link }

// Device is the simulated modem, for control: inject SMS, set signal,
// faults, read what it sent.
func (s *Simulator) Device() *device.Device { return s.dev }

// Plugged reports whether the device is present.
func (s *Simulator) Plugged() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pty != nil
}

// PTY is the pseudo-terminal's own device path (such as /dev/pts/3), or ""
// while unplugged.
func (s *Simulator) PTY() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pty == nil {
		return ""
	}
	return s.pty.Device()
}

// Unplug makes the device disappear, as pulling the USB stick does: the link
// is removed, the pty is closed, and a client's reads and writes on it fail.
// The modem's volatile settings reset on the next Replug; its stored
// messages stay.
func (s *Simulator) Unplug() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.stopReplugLocked()
	if s.pty == nil {
		return errors.New("sim: already unplugged")
	}
	return s.unplugLocked()
}

// UnplugFor unplugs the device and plugs it back in after d.
func (s *Simulator) UnplugFor(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("sim: unplug duration %v must be positive", d)
	}
	if err := s.Unplug(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replugT = time.AfterFunc(d, func() {
		if err := s.Replug(); err != nil && !errors.Is(err, ErrClosed) {
			s.log.Error("automatic replug", "err", err)
		}
	})
	return nil
}

// Replug brings the device back at the same link, on a new pty, as a
// re-enumerated USB stick: the modem starts a fresh power-on session.
func (s *Simulator) Replug() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.stopReplugLocked()
	if s.pty != nil {
		return errors.New("sim: already plugged in")
	}
	return s.plugLocked()
}

// Close unplugs the device for good and removes its link.
func (s *Simulator) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.closed = true
	if s.stopAF != nil {
		s.stopAF()
	}
	s.stopReplugLocked()
	if s.pty == nil {
		return nil
	}
	return s.unplugLocked()
}

func (s *Simulator) stopReplugLocked() {
	if s.replugT != nil {
		s.replugT.Stop()
		s.replugT = nil
	}
}

// plugLocked opens a pty at the link and runs a modem session on it.
func (s *Simulator) plugLocked() error {
	p, err := ptylink.Open(s.link)
	if err != nil {
		return fmt.Errorf("plug in at %s: %w", s.link, err)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(s.parent))
	done := make(chan struct{})
	s.pty, s.cancel, s.done = p, cancel, done
	s.log.Info("plugged in", "link", s.link, "pty", p.Device())
	go func() {
		defer close(done)
		if err := s.dev.Serve(ctx, p); err != nil && ctx.Err() == nil {
			s.log.Error("modem session ended", "pty", p.Device(), "err", err)
		}
	}()
	return nil
}

// unplugLocked stops the session and closes the pty, waiting for the
// session to return.
func (s *Simulator) unplugLocked() error {
	s.cancel()
	err := s.pty.Close()
	<-s.done
	s.log.Info("unplugged", "link", s.link, "pty", s.pty.Device())
	s.pty, s.cancel, s.done = nil, nil, nil
	if err != nil {
		return fmt.Errorf("unplug: %w", err)
	}
	return nil
}
