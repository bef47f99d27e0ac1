package main

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sim-modem-api/sim-modem-api/simulator/ptylink"
)

// procStatusKB reads a field such as VmRSS from /proc/<pid>/status, in kB.
func procStatusKB(b *testing.B, pid int, field string) float64 {
	b.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb
		}
	}
	b.Fatalf("%s not in /proc/%d/status", field, pid)
	return 0
}

// BenchmarkBinaryRSS runs the relay binary in front of an echoing pty,
// with its full log going to a file, pushes bytes through it both ways and
// reports its resident memory: at idle, after relaying, and the peak (and
// how much of it is anonymous memory rather than mapped program text).
// It relays at a steady 1 MB/s each way (the target) and at 4 MB/s, and
// reports the log lines dropped because the log file could not keep up.
// (Unpaced, a pty echoes tens of MB/s; a client in the same starved process
// then falls a MiB behind and is disconnected, which a real 115200-baud
// modem, at 11.5 kB/s, can never cause.)
func BenchmarkBinaryRSS(b *testing.B) {
	b.Run("1MBps", func(b *testing.B) { benchBinaryRSS(b, 1<<20) })
	b.Run("4MBps", func(b *testing.B) { benchBinaryRSS(b, 4<<20) })
}

func benchBinaryRSS(b *testing.B, rate int) {
	dir := b.TempDir()
	link := filepath.Join(dir, "ttyUSB2")
	modem, err := ptylink.Open(link)
	if err != nil {
		b.Fatal(err)
	}
	var echo sync.WaitGroup
	echo.Go(func() { _, _ = io.Copy(modem, modem) })
	defer func() { modem.Close(); echo.Wait() }()

	logf, err := os.Create(filepath.Join(dir, "relay.log"))
	if err != nil {
		b.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(binary, "-device", link, "-listen", "127.0.0.1:0", "-metrics-listen", "",
		"-heartbeat-timeout", "1h")
	cmd.Stdout = logf
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()

	// The address is in the log file.
	re := regexp.MustCompile(`to clients on (\S+) `)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("relay did not start")
		}
		text, _ := os.ReadFile(logf.Name())
		if m := re.FindSubmatch(text); m != nil && strings.Contains(string(text), "Serial device opened successfully") {
			addr = string(m[1])
		}
	}
	idle := procStatusKB(b, cmd.Process.Pid, "VmRSS")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	chunk := make([]byte, 4096)
	for i := range chunk {
		chunk[i] = "AT+CMGS=23\r0011000B9143\x1a\r\n"[i%25]
	}
	b.SetBytes(int64(len(chunk)))
	b.ResetTimer()
	var wg sync.WaitGroup
	start := time.Now()
	wg.Go(func() {
		for i := range b.N {
			if rate > 0 {
				// Pace: chunk i is due at start + i*len(chunk)/rate.
				time.Sleep(time.Until(start.Add(time.Duration(i) * time.Duration(len(chunk)) * time.Second / time.Duration(rate))))
			}
			if _, err := c.Write(chunk); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if _, err := io.CopyN(io.Discard, c, int64(b.N)*int64(len(chunk))); err != nil {
		text, _ := os.ReadFile(logf.Name())
		lines := strings.Split(string(text), "\n")
		for _, l := range lines {
			if !strings.Contains(l, "SER_") {
				b.Log(l)
			}
		}
		b.Fatal(err)
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(idle, "idle-RSS-kB")
	b.ReportMetric(procStatusKB(b, cmd.Process.Pid, "VmRSS"), "RSS-kB")
	b.ReportMetric(procStatusKB(b, cmd.Process.Pid, "VmHWM"), "peak-RSS-kB")
	b.ReportMetric(procStatusKB(b, cmd.Process.Pid, "RssAnon"), "anon-RSS-kB")
	text, _ := os.ReadFile(logf.Name())
	dropped := 0
	for _, m := range regexp.MustCompile(`dropped (\d+) log lines`).FindAllSubmatch(text, -1) {
		n, _ := strconv.Atoi(string(m[1]))
		dropped += n
	}
	b.ReportMetric(float64(dropped), "log-lines-dropped")
}
