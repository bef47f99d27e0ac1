package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNamesAndLint(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	m := New(reg)
	m.SerialReadBytes.Add(3)
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
	n, err := testutil.GatherAndCount(reg)
	if err != nil {
		t.Fatal(err)
	}
	// 11 plain series + 3 reject reasons + 7 disconnect reasons + 7 TLS
	// handshake failure reasons, all present at zero.
	if n != 28 {
		t.Fatalf("%d series, want 28", n)
	}
}

func TestHandlerAndCheck(t *testing.T) {
	reg := NewRegistry()
	m := New(reg)
	m.SerialDeviceUp.Set(1)
	var health error
	srv := httptest.NewServer(Handler(reg, func() error { return health }))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"relay_serial_device_up 1", "process_resident_memory_bytes", `relay_client_disconnects_total{reason="heartbeat_timeout"} 0`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if err := Check(context.Background(), addr, time.Second); err != nil {
		t.Fatalf("healthy: %v", err)
	}
	health = errors.New("serial device unavailable")
	err = Check(context.Background(), addr, time.Second)
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "serial device unavailable") {
		t.Fatalf("unhealthy: got %v", err)
	}
}

func TestServeStopsOnCancel(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, Handler(prometheus.NewRegistry(), func() error { return nil })) }()
	if err := Check(context.Background(), ln.Addr().String(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestCheckAddressForms(t *testing.T) {
	if err := Check(context.Background(), "nonsense", time.Second); err == nil {
		t.Fatal("bad address accepted")
	}
	// ":port" means this host.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, Handler(prometheus.NewRegistry(), func() error { return nil })) }()
	if err := Check(context.Background(), ":"+port, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	cancel()
	<-done
}
