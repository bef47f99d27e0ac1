// Package rawfd reads and writes the relay's non-blocking file descriptors
// (the client's TCP socket, the serial device) with raw system calls,
// waiting in Go's runtime poller when there is nothing to read or no room
// to write.
//
// Why raw: the standard library's reads and writes enter the system call
// through the scheduler (entersyscall), which wakes the runtime's monitor
// thread (sysmon) whenever it sleeps because every P was idle. A relay
// between two idle peers is idle between any two round trips, so each of
// its system calls woke sysmon, which then polled in 20 µs naps until the
// process was idle again: most of the relay's context switches per round
// trip. A read or write of a non-blocking descriptor never blocks, so it
// needs none of that; waiting is still done by the poller, and deadlines
// set on the connection or file (SetReadDeadline, SetWriteDeadline) still
// apply, since the waits go through the same syscall.RawConn.
package rawfd

import (
	"io"
	"os"
	"syscall"
	"unsafe"
)

// Read reads into b once something is there, waiting in the poller (and
// honouring the read deadline) while nothing is. It returns io.EOF when
// the peer has closed (a read of 0 bytes).
func Read(rc syscall.RawConn, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var n int
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		for {
			k, e := read(fd, b)
			switch e {
			case 0:
				n = k
				if k == 0 {
					rerr = io.EOF
				}
				return true
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false // wait in the poller
			default:
				rerr = os.NewSyscallError("read", e)
				return true
			}
		}
	})
	if err != nil {
		return n, err
	}
	return n, rerr
}

// Write writes all of b, waiting in the poller (and honouring the write
// deadline) while the descriptor takes nothing more. It returns how much
// was written.
func Write(rc syscall.RawConn, b []byte) (int, error) {
	return write(rc, b, true)
}

// WriteNow writes as much of b as the descriptor takes right now, never
// waiting; a full buffer is not an error (n < len(b), nil).
func WriteNow(rc syscall.RawConn, b []byte) (int, error) {
	return write(rc, b, false)
}

func write(rc syscall.RawConn, b []byte, wait bool) (int, error) {
	n := 0
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			k, e := rawWrite(fd, b[n:])
			switch e {
			case 0:
				n += k
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return !wait
			default:
				werr = os.NewSyscallError("write", e)
				return true
			}
		}
		return true
	})
	if err != nil {
		return n, err
	}
	return n, werr
}

// read is read(2) without the scheduler's system call bookkeeping: only
// for non-blocking descriptors, and len(b) > 0.
func read(fd uintptr, b []byte) (int, syscall.Errno) {
	k, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(k), e
}

// rawWrite is write(2) without the scheduler's system call bookkeeping:
// only for non-blocking descriptors, and len(b) > 0.
func rawWrite(fd uintptr, b []byte) (int, syscall.Errno) {
	k, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	return int(k), e
}
