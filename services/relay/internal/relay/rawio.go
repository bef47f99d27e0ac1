package relay

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/sim-modem-api/sim-modem-api/services/relay/internal/rawfd"
)

// errNotRaw means a connection has no file descriptor to write to at once.
var errNotRaw = errors.New("connection without a raw file descriptor")

// writeNow writes as much of p to conn as its send buffer takes right now,
// never waiting, with no deadline and no goroutine; it returns how many
// bytes it wrote. A full buffer is not an error (n < len(p), nil).
func writeNow(conn net.Conn, p []byte) (int, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return 0, errNotRaw
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("raw connection: %w", err)
	}
	n, err := rawfd.WriteNow(rc, p)
	if err != nil {
		return n, fmt.Errorf("raw write: %w", err)
	}
	return n, nil
}

// drainNow reads and discards what conn has already received, at most limit
// bytes, never waiting. It returns io.EOF once the peer has closed.
func drainNow(conn net.Conn, limit int) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return errNotRaw
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("raw connection: %w", err)
	}
	var buf [4096]byte
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		for read := 0; read < limit; {
			k, e := syscall.Read(int(fd), buf[:])
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
				return true
			case e != nil:
				rerr = os.NewSyscallError("read", e)
				return true
			case k == 0:
				rerr = io.EOF
				return true
			}
			read += k
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("raw read: %w", err)
	}
	return rerr
}
