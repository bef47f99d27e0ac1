package inbox

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/smsmem"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// Result is what one sweep did.
type Result struct {
	// Fills are the stores swept, as AT+CPMS answered when each was
	// selected (before the sweep deleted anything).
	Fills []Fill
	// Parts counts received parts committed for the first time; Again
	// those found already stored (read again after a crash between the
	// commit and AT+CMGD).
	Parts, Again int
	// Reports counts status reports committed for the first time.
	Reports int
	// Deleted counts the messages deleted from the modem after their
	// commit.
	Deleted int
	// Left counts the messages left in the modem: the outbox's (STO
	// UNSENT, STO SENT), and received ones whose deletion failed (the next
	// sweep finds them stored and deletes them).
	Left int
	// Messages are the inbound messages that the sweep completed.
	Messages []*store.Message
}

// Sweep runs one sweep on the engine: for each store (Config.Memories) it
// selects the store with AT+CPMS, lists it with AT+CMGL=4 and, for every
// received message and status report, commits it to the store and only
// then deletes it with AT+CMGD. The api's store selection (read with
// AT+CPMS? first) is restored at the end. It must run as a scheduler job
// (it changes the selected store).
func (s *Sweeper) Sweep(ctx context.Context, e modemops.AT) (Result, error) {
	var res Result
	modem, err := s.cfg.ModemID(ctx, e)
	if err != nil {
		return res, fmt.Errorf("inbox: sweep: the modem's identity: %w", err)
	}
	restore := s.cfg.Restore
	r, err := s.cmd(ctx, e, "+CPMS?")
	if err != nil {
		return res, fmt.Errorf("inbox: sweep: AT+CPMS?: %w", err)
	}
	v, _ := r.Value("+CPMS")
	if sel := smsmem.ParseCPMSRead(v); sel != nil {
		restore = fmt.Sprintf("+CPMS=%q,%q,%q", sel[0].Memory, sel[1].Memory, sel[2].Memory)
	}
	var sweepErr error
	for _, mem := range s.cfg.Memories {
		if err := s.sweepStore(ctx, e, modem, mem, &res); err != nil {
			sweepErr = err
			if !at.Answered(err) || errors.Is(err, errStore) {
				break // the modem or the store is gone: stop here, the next sweep goes on
			}
		}
	}
	if _, err := s.cmd(ctx, e, restore); err != nil {
		sweepErr = errors.Join(sweepErr, fmt.Errorf("inbox: sweep: restoring the store selection AT%s: %w", restore, err))
	}
	return res, sweepErr
}

// errStore marks a failure of the message store (not of the modem).
var errStore = errors.New("the message store failed")

// sweepStore sweeps one store.
func (s *Sweeper) sweepStore(ctx context.Context, e modemops.AT, modem int64, mem string, res *Result) error {
	r, err := s.cmd(ctx, e, fmt.Sprintf("+CPMS=%q", mem))
	if err != nil {
		if at.Answered(err) && !at.SIMNotReady(err) {
			// This modem has no such store (+CMS ERROR 302/303): nothing to sweep.
			s.log.Debug("inbox: store not available", "memory", mem, "err", err)
			return nil
		}
		return fmt.Errorf("inbox: sweep %s: AT+CPMS=%q: %w", mem, mem, err)
	}
	v, _ := r.Value("+CPMS")
	used, total, perr := smsmem.ParseCPMSSet(v)
	if perr == nil {
		f := Fill{Memory: mem, Used: used, Total: total}
		res.Fills = append(res.Fills, f)
		s.cfg.Hooks.Fill(f)
		if used == 0 {
			return nil
		}
	}
	r, err = e.Command(ctx, "+CMGL=4", at.Timeout(s.cfg.ListTimeout))
	if err != nil {
		return fmt.Errorf("inbox: sweep %s: AT+CMGL=4: %w", mem, err)
	}
	entries, listErr := smsmem.ParseList(r.Lines)
	for _, en := range entries {
		if err := s.take(ctx, e, modem, mem, en, res); err != nil {
			return err
		}
	}
	if listErr != nil {
		// The entries before the line that did not parse were taken; the
		// rest stay in the modem for the next sweep.
		return fmt.Errorf("inbox: sweep %s: %w", mem, listErr)
	}
	return nil
}

// take commits one listed message and deletes it from the modem.
func (s *Sweeper) take(ctx context.Context, e modemops.AT, modem int64, mem string, en smsmem.Entry, res *Result) error {
	if !en.Received() {
		res.Left++ // the outbox's
		return nil
	}
	if !en.Consistent() {
		// A PDU line that is not hex of the announced length: garbled on
		// the line, or missing. Read the message alone before committing.
		r, err := s.cmd(ctx, e, "+CMGR="+strconv.Itoa(en.Index))
		if at.InvalidIndex(err) {
			return nil // gone meanwhile
		}
		if err != nil {
			return fmt.Errorf("inbox: sweep %s: re-reading index %d: AT+CMGR: %w", mem, en.Index, err)
		}
		again, err := smsmem.ParseRead(r.Lines)
		if err != nil {
			return fmt.Errorf("inbox: sweep %s: re-reading index %d: %w", mem, en.Index, err)
		}
		if !again.Received() {
			res.Left++
			return nil
		}
		if !again.Consistent() {
			s.log.Warn("inbox: a message's PDU does not match its length even when read alone; stored raw as it is",
				"memory", mem, "index", en.Index, "length", again.Length, "pdu", smsmem.Clip(again.PDU))
		}
		again.Index = en.Index
		en = again
	}
	if mem == "SR" || en.IsStatusReport() {
		rr, err := s.cfg.Store.SaveReport(ctx, store.ReportPart{ModemID: modem, Storage: mem, Index: en.Index, PDUHex: en.PDU})
		if err != nil {
			return fmt.Errorf("inbox: sweep %s: index %d: %w: %w", mem, en.Index, errStore, err)
		}
		if rr.New {
			res.Reports++
			s.cfg.Hooks.Report(rr.Report)
		}
	} else {
		sr, err := s.cfg.Store.SavePart(ctx, store.InboundPart{ModemID: modem, Storage: mem, Index: en.Index, PDUHex: en.PDU})
		if err != nil {
			return fmt.Errorf("inbox: sweep %s: index %d: %w: %w", mem, en.Index, errStore, err)
		}
		if sr.New {
			res.Parts++
		} else {
			res.Again++
		}
		s.cfg.Hooks.Part(sr.New)
		if sr.Message != nil {
			res.Messages = append(res.Messages, sr.Message)
			s.cfg.Hooks.Message(sr.Message)
		}
	}
	// Committed: now the modem's copy may go.
	_, err := s.cmd(ctx, e, "+CMGD="+strconv.Itoa(en.Index))
	if at.InvalidIndex(err) {
		err = nil // already gone
	}
	if err != nil {
		if at.Answered(err) {
			// Stored, not deleted: the next sweep finds it stored and
			// deletes it then.
			res.Left++
			s.log.Warn("inbox: deleting a stored message from the modem failed; the next sweep retries", "memory", mem, "index", en.Index, "err", err)
			s.cfg.Hooks.Error("delete")
			return nil
		}
		return fmt.Errorf("inbox: sweep %s: AT+CMGD=%d: %w", mem, en.Index, err)
	}
	res.Deleted++
	return nil
}

func (s *Sweeper) cmd(ctx context.Context, e modemops.AT, c string) (at.Response, error) {
	return e.Command(ctx, c, at.Timeout(s.cfg.CommandTimeout))
}
