package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetentionKeepsUnfinished(t *testing.T) {
	c := newClock()
	s := openTest(t, c)
	ctx := context.Background()
	modem, _ := s.UpsertModem(ctx, testModem)
	in := newInbox(t, s)
	rp := &reporter{t: t, s: s, modem: modem}
	to := "+436601234567"
	// Old: a sent message, a cancelled one, a received one, a report, a
	// queued one and one still sending.
	s.AcceptOutbound(ctx, outReq(t, "old-sent", to, "a"))
	sendAll(t, s, modem, "old-sent", 1)
	s.AcceptOutbound(ctx, outReq(t, "old-cancelled", to, "b"))
	s.Cancel(ctx, "old-cancelled")
	oldIn := in.save(deliverParts(t, "+436641234567", "hi", 0, false)[0]).Message
	rp.report(99, to, 0)
	s.AcceptOutbound(ctx, outReq(t, "old-sending", to, "c"))
	s.ClaimNext(ctx, modem, "")
	s.AcceptOutbound(ctx, outReq(t, "old-queued", to, "d"))
	c.Add(DefaultRetention + time.Hour)
	s.AcceptOutbound(ctx, outReq(t, "new", to, "e"))

	res, err := s.Retention(ctx, DefaultRetention)
	if err != nil || res.Messages != 3 || res.Reports != 1 {
		t.Fatalf("%+v, %v", res, err)
	}
	for _, id := range []string{"old-sent", "old-cancelled", oldIn.ID} {
		if _, err := s.Get(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s kept: %v", id, err)
		}
	}
	for _, id := range []string{"old-sending", "old-queued", "new"} {
		if _, err := s.Get(ctx, id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	var orphans int
	s.r.QueryRow(`SELECT (SELECT count(*) FROM parts p LEFT JOIN messages m ON m.id = p.message_id WHERE m.id IS NULL) +
		(SELECT count(*) FROM transitions t LEFT JOIN messages m ON m.id = t.message_id WHERE m.id IS NULL) +
		(SELECT count(*) FROM in_parts)`).Scan(&orphans)
	if orphans != 0 {
		t.Fatalf("%d rows left behind", orphans)
	}
	if _, err := s.Retention(ctx, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("zero horizon: %v", err)
	}
}

func TestBackupWhileWriting(t *testing.T) {
	sqliteOnly(t)
	dir := t.TempDir()
	s := openAt(t, filepath.Join(dir, FileName), nil)
	ctx := context.Background()
	for i := range 200 {
		if _, _, err := s.AcceptOutbound(ctx, outReq(t, fmt.Sprintf("pre-%d", i), "+436601234567", "before the backup")); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var written atomic.Int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := s.AcceptOutbound(ctx, outReq(t, fmt.Sprintf("during-%d-%d", w, i), "+436601234567", "during")); err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
			}
		}()
	}
	dest := filepath.Join(dir, "backup.db")
	err := s.Backup(ctx, dest)
	before := written.Load()
	for written.Load() < before+20 { // writers go on after the backup too
		time.Sleep(time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, dest); !errors.Is(err, ErrExists) {
		t.Fatalf("second backup to the same file: %v", err)
	}
	// The copy opens as a store, passes the integrity check, and holds
	// every message committed before the backup.
	b := openAt(t, dest, nil)
	var check string
	if err := b.r.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check %q, %v", check, err)
	}
	for i := range 200 {
		if _, err := b.Get(ctx, fmt.Sprintf("pre-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := b.Stats(ctx)
	if n := st.Messages[Out][StateQueued]; n < 200 || int64(n) > 200+written.Load() {
		t.Fatalf("%d messages in the copy", n)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if filepath.Ext(e.Name()) != ".db" && e.Name() != FileName+"-wal" && e.Name() != FileName+"-shm" &&
			e.Name() != "backup.db-wal" && e.Name() != "backup.db-shm" {
			t.Fatalf("left behind: %s", e.Name())
		}
	}
}

func TestBackupFileRefusesMissingStore(t *testing.T) {
	dir := t.TempDir()
	err := BackupFile(context.Background(), filepath.Join(dir, FileName), filepath.Join(dir, "b.db"), 100)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the backup created a store")
	}
}
