package serialport

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/simulator/ptylink"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	if _, err := Resolve(filepath.Join(dir, "ttyUSB2")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing path: %v", err)
	}
	if _, err := Resolve(filepath.Join(dir, "ttyUSB*")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("glob without match: %v", err)
	}
	for _, n := range []string{"ttyUSB2", "ttyUSB10", "ttyUSB1"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A dangling link sorts first but is skipped.
	if err := os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "ttyUSB0")); err != nil {
		t.Fatal(err)
	}
	got, err := Resolve(filepath.Join(dir, "ttyUSB*"))
	if err != nil || got != filepath.Join(dir, "ttyUSB1") {
		t.Fatalf("glob: got %q, %v; want the first match in sorted order", got, err)
	}
	got, err = Resolve(filepath.Join(dir, "ttyUSB2"))
	if err != nil || got != filepath.Join(dir, "ttyUSB2") {
		t.Fatalf("plain path: got %q, %v", got, err)
	}
}

func TestOpenPty(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyUSB2")
	d := &Device{Pattern: link, Baud: 115200}
	if _, _, err := d.Open(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open before plug-in: %v", err)
	}
	modem, err := ptylink.Open(link)
	if err != nil {
		t.Fatal(err)
	}
	defer modem.Close()
	p, path, err := d.Open()
	if err != nil {
		t.Fatal(err)
	}
	if path != link {
		t.Fatalf("path %q", path)
	}
	if _, err := p.Write([]byte("AT\r")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 3)
	if _, err := io.ReadFull(modem, buf); err != nil || string(buf) != "AT\r" {
		t.Fatalf("modem read %q, %v", buf, err)
	}
	// Raw: no CR/LF translation either way.
	if _, err := modem.Write([]byte("\r\nOK\r\n")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for len(got) < 6 {
		n, err := p.Read(buf[:cap(buf)])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "\r\nOK\r\n" {
		t.Fatalf("got %q", got)
	}
	// Unplug: a read fails (EIO from the hung-up pty), and so does a write.
	modem.Close()
	if n, err := p.Read(buf); err == nil {
		t.Fatalf("read %q after unplug, no error", buf[:n])
	}
	if _, err := p.Write([]byte("AT\r")); err == nil {
		t.Fatal("write after unplug succeeded")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := p.Write([]byte("x")); err == nil {
		t.Fatal("write after close succeeded")
	}
}

// TestCloseStopsBlockedRead: a reader parked in the poller waiting for the
// modem returns as soon as another goroutine closes the port.
func TestCloseStopsBlockedRead(t *testing.T) {
	link := filepath.Join(t.TempDir(), "ttyUSB2")
	modem, err := ptylink.Open(link)
	if err != nil {
		t.Fatal(err)
	}
	defer modem.Close()
	p, _, err := (&Device{Pattern: link, Baud: 115200}).Open()
	if err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := p.Read(make([]byte, 16))
		readErr <- err
	}()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-readErr; !errors.Is(err, fs.ErrClosed) {
		t.Fatalf("read after close: %v, want fs.ErrClosed", err)
	}
}

// TestExclusive: while the relay has the device open, nobody else can open
// it (TIOCEXCL; root is exempt from it, so the check needs another user).
func TestExclusive(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root may open a device in exclusive mode")
	}
	link := filepath.Join(t.TempDir(), "ttyUSB2")
	modem, err := ptylink.Open(link)
	if err != nil {
		t.Fatal(err)
	}
	defer modem.Close()
	d := &Device{Pattern: link, Baud: 115200}
	p, _, err := d.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if q, _, err := d.Open(); err == nil {
		q.Close()
		t.Fatal("a second open succeeded")
	}
}
