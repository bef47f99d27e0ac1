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

// rawConn is a client connection read and written with raw system calls
// (package rawfd: no wake-up of the runtime's monitor thread per call),
// waiting in the poller and under the connection's deadlines as net.Conn's
// own Read and Write do, with errors in the same form. A connection
// without a file descriptor is read and written through net.Conn.
type rawConn struct {
	conn net.Conn
	rc   syscall.RawConn // nil: use conn
}

func newRawConn(conn net.Conn) rawConn {
	if sc, ok := conn.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			return rawConn{conn: conn, rc: rc}
		}
	}
	return rawConn{conn: conn}
}

// Read reads what the client has sent, waiting for it; io.EOF once the
// client has closed.
func (c rawConn) Read(p []byte) (int, error) {
	if c.rc == nil {
		return c.conn.Read(p)
	}
	n, err := rawfd.Read(c.rc, p)
	if err != nil && err != io.EOF {
		return n, c.opError("read", err)
	}
	return n, err
}

// Write writes all of p, waiting while the client's buffer is full.
func (c rawConn) Write(p []byte) (int, error) {
	if c.rc == nil {
		return c.conn.Write(p)
	}
	n, err := rawfd.Write(c.rc, p)
	if err != nil {
		return n, c.opError("write", err)
	}
	return n, nil
}

// WriteNow writes as much of p as the client's send buffer takes right
// now, never waiting, with no deadline and no goroutine; it returns how
// many bytes it wrote. A full buffer is not an error (n < len(p), nil).
func (c rawConn) WriteNow(p []byte) (int, error) {
	if c.rc == nil {
		return 0, errNotRaw
	}
	n, err := rawfd.WriteNow(c.rc, p)
	if err != nil {
		return n, c.opError("write", err)
	}
	return n, nil
}

// opError puts err in the form net.Conn reports it.
func (c rawConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: c.conn.LocalAddr().Network(), Source: c.conn.LocalAddr(), Addr: c.conn.RemoteAddr(), Err: err}
}

// writeNow writes as much of p to conn as its send buffer takes right now;
// see rawConn.WriteNow.
func writeNow(conn net.Conn, p []byte) (int, error) {
	return newRawConn(conn).WriteNow(p)
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
