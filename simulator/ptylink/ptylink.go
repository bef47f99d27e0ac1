//go:build linux

// Package ptylink makes a pseudo-terminal that stands in for a USB serial
// device: its slave side is reachable through a symlink (for example
// /tmp/ttyUSB2), so that a client opens, configures and uses it exactly as it
// would use /dev/ttyUSB2, while the simulator reads and writes the master side.
//
// Closing a Link is what an unplug looks like to the client: the link
// disappears and the client's reads and writes on the device it had opened
// fail with EIO, as they do when a USB serial adapter is pulled.
package ptylink

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Link is one pseudo-terminal linked at a path.
type Link struct {
	path   string
	master *os.File // pollable: Close unblocks a pending Read
	slave  *os.File // held open so that the master does not see a hangup between clients

	closeOnce sync.Once
	closeErr  error
}

// Open creates a pseudo-terminal in raw mode and links its slave device at
// path. A stale symlink or regular file at path is replaced; a directory or
// another kind of file there is an error, so that a real device is never
// removed by mistake.
func Open(path string) (*Link, error) {
	if err := removeStale(path); err != nil {
		return nil, err
	}
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	master, err := pollable(m)
	if err != nil {
		m.Close()
		s.Close()
		return nil, err
	}
	if err := makeRaw(s); err != nil {
		master.Close()
		s.Close()
		return nil, err
	}
	if err := os.Symlink(s.Name(), path); err != nil {
		master.Close()
		s.Close()
		return nil, fmt.Errorf("link %s to %s: %w", path, s.Name(), err)
	}
	return &Link{path: path, master: master, slave: s}, nil
}

// Path is the symlink the client opens.
func (l *Link) Path() string { return l.path }

// Device is the pseudo-terminal's slave device, such as /dev/pts/3.
func (l *Link) Device() string { return l.slave.Name() }

// Read reads what the client wrote to the device.
func (l *Link) Read(p []byte) (int, error) { return l.master.Read(p) }

// Write sends bytes to the client, as the modem would.
func (l *Link) Write(p []byte) (int, error) { return l.master.Write(p) }

// SetReadDeadline sets the deadline of Read, as on a net.Conn.
func (l *Link) SetReadDeadline(t time.Time) error { return l.master.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline of Write, as on a net.Conn.
func (l *Link) SetWriteDeadline(t time.Time) error { return l.master.SetWriteDeadline(t) }

// Close removes the link (if it still points to this pty) and closes the
// pseudo-terminal. A pending Read returns an error. Closing again returns the
// first Close's result.
func (l *Link) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.close() })
	return l.closeErr
}

func (l *Link) close() error {
	var errs []error
	if target, err := os.Readlink(l.path); err == nil && target == l.slave.Name() {
		if err := os.Remove(l.path); err != nil {
			errs = append(errs, fmt.Errorf("remove link %s: %w", l.path, err))
		}
	}
	if err := l.master.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close pty master: %w", err))
	}
	if err := l.slave.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close pty slave: %w", err))
	}
	return errors.Join(errs...)
}

// removeStale removes a symlink or regular file at path, if there is one.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if fi.Mode()&fs.ModeSymlink == 0 && !fi.Mode().IsRegular() {
		return fmt.Errorf("link path %s exists and is a %s, not a stale link: refusing to replace it", path, kindOf(fi.Mode()))
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale %s: %w", path, err)
	}
	return nil
}

func kindOf(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	default:
		return "special file"
	}
}

// pollable returns a non-blocking duplicate of f registered with the Go
// runtime's poller, so that Close interrupts a blocked Read, and closes f.
// (creack/pty hands out the master in blocking mode.)
func pollable(f *os.File) (*os.File, error) {
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("dup pty master: %w", err)
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("set pty master non-blocking: %w", err)
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("close pty master: %w", err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// makeRaw puts the terminal in raw mode (cfmakeraw) at 115200 baud, 8N1, so
// that nothing the modem writes is echoed back to it or translated before a
// client configures the port itself.
func makeRaw(f *os.File) error {
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("get termios of %s: %w", f.Name(), err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CSTOPB | unix.CRTSCTS
	t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	setSpeed(t, unix.B115200)
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return fmt.Errorf("set termios of %s: %w", f.Name(), err)
	}
	return nil
}

// setSpeed sets both directions' baud rate, as cfsetspeed does on Linux.
func setSpeed(t *unix.Termios, speed uint32) {
	t.Cflag &^= unix.CBAUD
	t.Cflag |= speed
	t.Ispeed = speed
	t.Ospeed = speed
}
