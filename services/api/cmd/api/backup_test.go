package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// TestBackupWriterProcess is the other process of
// TestBackupWhileAnotherProcessWrites: with API_TEST_BACKUP_WRITER set to a
// data dir, it accepts messages into that store until killed, printing
// "ack" after each commit. Without it, it does nothing.
func TestBackupWriterProcess(t *testing.T) {
	dir := os.Getenv("API_TEST_BACKUP_WRITER")
	if dir == "" {
		return
	}
	ctx := context.Background()
	s, err := store.OpenDir(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; ; i++ {
		_, _, err := s.AcceptOutbound(ctx, store.OutboundRequest{
			ID: fmt.Sprintf("w-%d", i), To: "+436601234567", Text: "hello",
			Parts: []string{"0011000C913466102143650000AA05E8329BFD06"},
		})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("ack")
	}
}

func TestBackupWhileAnotherProcessWrites(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBackupWriterProcess$")
	cmd.Env = append(os.Environ(), "API_TEST_BACKUP_WRITER="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var childErr bytes.Buffer
	cmd.Stderr = &childErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()                          //nolint:errcheck // killed
	defer cmd.Process.Signal(syscall.SIGKILL) //nolint:errcheck // may have exited
	acks := bufio.NewScanner(out)
	waitAcks := func(n int) {
		for i := 0; i < n; i++ {
			if !acks.Scan() {
				t.Fatalf("the writer stopped: %s", childErr.String())
			}
		}
	}
	waitAcks(50)
	file := filepath.Join(t.TempDir(), "copy.db")
	env := func(k string) string {
		if k == "API_DATA_DIR" {
			return dir
		}
		return ""
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"backup", file}, env, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "wrote "+file) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout.String(), stderr.String())
	}
	waitAcks(50) // the writer went on during and after the backup
	copyStore, err := store.Open(context.Background(), file, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer copyStore.Close()
	st, err := copyStore.Stats(context.Background())
	if err != nil || st.Messages[store.Out][store.StateQueued] < 50 {
		t.Fatalf("copy: %+v, %v", st, err)
	}
	for i := range 50 {
		if _, err := copyStore.Get(context.Background(), fmt.Sprintf("w-%d", i)); err != nil {
			t.Fatalf("acknowledged before the backup, missing from the copy: %v", err)
		}
	}

	stderr.Reset()
	if code := run([]string{"backup", file}, env, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "already exists") {
		t.Fatalf("existing file: exit %d, stderr %q", code, stderr.String())
	}
}

func TestBackupUsageAndMissingStore(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"backup"}, env(nil), &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "usage") {
		t.Fatalf("no file: exit %d, %q", code, stderr.String())
	}
	stderr.Reset()
	dir := t.TempDir()
	code := run([]string{"backup", filepath.Join(dir, "b.db")}, env(map[string]string{"API_DATA_DIR": dir}), &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "no message store") {
		t.Fatalf("no store: exit %d, %q", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, store.FileName)); err == nil {
		t.Fatal("backup created a store")
	}
}
