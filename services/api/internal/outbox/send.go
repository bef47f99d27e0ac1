package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sim-modem-api/sim-modem-api/modem/at"
	"github.com/sim-modem-api/sim-modem-api/modem/modemops"
	"github.com/sim-modem-api/sim-modem-api/modem/smsmem"
	"github.com/sim-modem-api/sim-modem-api/services/api/internal/store"
)

// errDone: the message ended (a part failed for good or its outcome is
// unknown); nothing to retry.
var errDone = errors.New("the message ended")

// job is one scheduler job: identify the modem, reconcile its memory if
// needed, claim the next message and send it, all its parts.
func (w *Worker) job(ctx context.Context, e modemops.AT) result {
	modemID, err := w.cfg.Modem.Current(ctx, e)
	if err != nil {
		return result{err: fmt.Errorf("outbox: %w", err)}
	}
	mem := &memory{e: e, commandTimeout: at.Timeout(w.cfg.CommandTimeout), smsTimeout: at.Timeout(w.cfg.SMSTimeout),
		bodyTimeout: at.BodyTimeout(w.cfg.CommandTimeout), record: func(modemops.Exchange) {}}
	if w.needReconcile() {
		if err := w.reconcileMemory(ctx, mem, modemID); err != nil {
			return result{err: fmt.Errorf("outbox: reconciling the modem's memory: %w", err)}
		}
		w.setReconcile(false)
	}
	if w.cfg.Eligible != nil {
		if why := w.cfg.Eligible(); why != "" {
			w.release(ctx, why)
			return result{idle: true, nextDue: time.Now().Add(eligibleRecheck)}
		}
	}
	msg, nextDue, err := w.cfg.Store.ClaimNext(ctx, modemID, w.cfg.Modem.Name())
	if err != nil {
		return result{err: fmt.Errorf("outbox: claiming the next message: %w", err)}
	}
	if msg == nil {
		return result{idle: true, nextDue: nextDue}
	}
	mem.record = w.record(msg.ID)
	for _, p := range msg.Parts {
		if p.State == store.PartWriting { // interrupted in this process: find the copy first
			if err := w.reconcileMemory(ctx, mem, modemID); err != nil {
				return result{err: fmt.Errorf("outbox: message %s: reconciling the modem's memory: %w", msg.ID, err)}
			}
			if msg, err = w.cfg.Store.Get(ctx, msg.ID); err != nil {
				return result{err: fmt.Errorf("outbox: %w", err)}
			}
			break
		}
	}
	if err := w.send(ctx, mem, msg); err != nil {
		return result{err: fmt.Errorf("outbox: message %s: %w", msg.ID, err)}
	}
	return result{}
}

// send sends the message's parts in order from their stored states.
func (w *Worker) send(ctx context.Context, mem *memory, msg *store.Message) error {
	for _, p := range msg.Parts {
		err := w.sendPart(ctx, mem, msg, p)
		if errors.Is(err, errDone) {
			return nil
		}
		if err != nil {
			return w.retryOrGiveUp(ctx, mem, msg, p.Seq, err)
		}
	}
	return nil
}

// sendPart brings one part to sent (or failed, or unknown) from its
// stored state; see the package doc for the table.
func (w *Worker) sendPart(ctx context.Context, mem *memory, msg *store.Message, p store.Part) error {
	st := w.cfg.Store
	id, seq := msg.ID, p.Seq
	state, idx := p.State, p.StorageIndex
	for range 4 { // a part passes through at most queued → written → submitting → sent
		switch state {
		case store.PartSent, store.PartDelivered, store.PartFailed, store.PartUnknown:
			if idx >= 0 { // its copy was not deleted yet: the reconcile does it
				w.setReconcile(true)
			}
			return nil

		case store.PartWriting:
			w.setReconcile(true)
			return fmt.Errorf("part %d: %w", seq, transient("its write was interrupted; reconciling the modem's memory first"))

		case store.PartQueued:
			if _, err := st.PartWriting(ctx, id, seq); err != nil {
				return fmt.Errorf("part %d: %w", seq, err)
			}
			n, err := mem.write(ctx, w.withSCA(p.PDUHex))
			if err != nil {
				if !modemAnswered(err) || errors.Is(err, errNoIndex) {
					w.setReconcile(true) // it may be stored: found by content before anything else
					return fmt.Errorf("part %d: AT+CMGW: %w", seq, err)
				}
				if at.PermanentSMSError(err) {
					return w.fail(ctx, id, seq, fmt.Sprintf("AT+CMGW: %v", err), err)
				}
				if _, serr := st.PartRetry(ctx, id, seq, "AT+CMGW: "+err.Error()); serr != nil {
					return fmt.Errorf("part %d: %w", seq, serr)
				}
				return fmt.Errorf("part %d: AT+CMGW: %w", seq, err) // e.g. +CMS ERROR 322: the inbox frees space
			}
			if _, err := st.PartWritten(ctx, id, seq, n); err != nil {
				return fmt.Errorf("part %d: %w", seq, err)
			}
			state, idx = store.PartWritten, n

		case store.PartWritten:
			if err := w.pace(ctx); err != nil {
				return fmt.Errorf("part %d: %w", seq, err)
			}
			if _, err := st.PartSubmitting(ctx, id, seq); err != nil {
				return fmt.Errorf("part %d: %w", seq, err)
			}
			mr, err := mem.submit(ctx, idx)
			w.submitted()
			if err != nil {
				if !modemAnswered(err) { // it may have gone: stays submitting, read back next time
					return fmt.Errorf("part %d: AT+CMSS=%d: %w", seq, idx, err)
				}
				if at.InvalidIndex(err) { // the copy is gone and nothing was sent: write it again
					if _, serr := st.PartRemoved(ctx, id, seq); serr != nil {
						return fmt.Errorf("part %d: %w", seq, serr)
					}
					if _, serr := st.PartRetry(ctx, id, seq, "AT+CMSS: its copy is gone: "+err.Error()); serr != nil {
						return fmt.Errorf("part %d: %w", seq, serr)
					}
					return fmt.Errorf("part %d: AT+CMSS=%d: %w", seq, idx, err)
				}
				if at.PermanentSMSError(err) {
					ferr := w.fail(ctx, id, seq, fmt.Sprintf("AT+CMSS: %v", err), err)
					w.removeCopy(ctx, mem, id, seq, idx)
					return ferr
				}
				if _, serr := st.PartRetry(ctx, id, seq, "AT+CMSS: "+err.Error()); serr != nil {
					return fmt.Errorf("part %d: %w", seq, serr)
				}
				return fmt.Errorf("part %d: AT+CMSS=%d: %w", seq, idx, err)
			}
			return w.sent(ctx, mem, id, seq, idx, mr)

		case store.PartSubmitting:
			if idx < 0 { // the AT+CMGS route: nothing to read back
				return w.unknown(ctx, id, seq, "its submission was in flight and it has no copy in the modem's memory to read back")
			}
			s, found, err := mem.read(ctx, idx)
			if err != nil {
				return fmt.Errorf("part %d: AT+CMGR=%d: %w", seq, idx, err)
			}
			if found && !s.Consistent() {
				return fmt.Errorf("part %d: AT+CMGR=%d: %w", seq, idx, transient("the PDU line does not match its length (noise?)"))
			}
			if !found || (s.Stat != smsmem.StatStoUnsent && s.Stat != smsmem.StatStoSent) || !samePDU(p.PDUHex, s.PDU) {
				if _, err := st.PartRemoved(ctx, id, seq); err != nil { // the index is not ours any more
					return fmt.Errorf("part %d: %w", seq, err)
				}
				return w.unknown(ctx, id, seq, fmt.Sprintf("its copy at index %d is gone, so whether AT+CMSS sent it cannot be known", idx))
			}
			if s.Stat == smsmem.StatStoSent {
				return w.sent(ctx, mem, id, seq, idx, store.NoMR)
			}
			// STO UNSENT: AT+CMSS did not send it; submit it again.
			if _, err := st.PartRetry(ctx, id, seq, "AT+CMSS did not send it (the copy is STO UNSENT)"); err != nil {
				return fmt.Errorf("part %d: %w", seq, err)
			}
			state = store.PartWritten

		default:
			return fmt.Errorf("part %d: unknown state %q", seq, state)
		}
	}
	return fmt.Errorf("part %d: no progress from state %s", seq, state)
}

// sent commits the part as sent and deletes its copy.
func (w *Worker) sent(ctx context.Context, mem *memory, id string, seq, idx, mr int) error {
	if _, err := w.cfg.Store.PartSent(ctx, id, seq, mr); err != nil {
		return fmt.Errorf("part %d: %w", seq, err)
	}
	w.cfg.OnPart(string(store.PartSent), "")
	if err := w.removeCopy(ctx, mem, id, seq, idx); err != nil && !modemAnswered(err) {
		return err // the connection is gone: the next part would fail too
	}
	return nil
}

// removeCopy deletes the part's copy (AT+CMGD) and commits PartRemoved;
// if that fails, the next job's reconcile deletes it.
func (w *Worker) removeCopy(ctx context.Context, mem *memory, id string, seq, idx int) error {
	if err := mem.remove(ctx, idx); err != nil {
		w.setReconcile(true)
		return fmt.Errorf("part %d: AT+CMGD=%d: %w", seq, idx, err)
	}
	if _, err := w.cfg.Store.PartRemoved(ctx, id, seq); err != nil {
		w.setReconcile(true)
		return fmt.Errorf("part %d: %w", seq, err)
	}
	return nil
}

// fail commits a permanent failure of the part: the message fails.
func (w *Worker) fail(ctx context.Context, id string, seq int, reason string, cause error) error {
	if _, err := w.cfg.Store.PartFailed(ctx, id, seq, reason); err != nil {
		return fmt.Errorf("part %d: %w", seq, err)
	}
	w.cfg.OnPart(string(store.PartFailed), modemops.FailureReason(cause))
	w.setCause(id, cause)
	w.log.Warn("outbox: message failed", "id", id, "part", seq, "reason", reason)
	return errDone
}

// unknown commits that the part's outcome cannot be known: it is never
// submitted again and the message fails with "outcome unknown".
func (w *Worker) unknown(ctx context.Context, id string, seq int, reason string) error {
	if _, err := w.cfg.Store.PartUnknown(ctx, id, seq, reason); err != nil {
		return fmt.Errorf("part %d: %w", seq, err)
	}
	w.cfg.OnPart(string(store.PartUnknown), "other")
	w.log.Error("outbox: part outcome unknown; it is not sent again", "id", id, "part", seq, "reason", reason)
	return errDone
}

// retryOrGiveUp returns err (retry with backoff) unless the message is
// older than RetryMaxAge and the part is known not to have gone out
// (queued or written): then the part fails with the last error.
func (w *Worker) retryOrGiveUp(ctx context.Context, mem *memory, msg *store.Message, seq int, err error) error {
	start := msg.CreatedAt
	if msg.Options.SendAt.After(start) {
		start = msg.Options.SendAt
	}
	if time.Since(start) < w.cfg.RetryMaxAge || ctx.Err() != nil {
		return err
	}
	m, gerr := w.cfg.Store.Get(ctx, msg.ID)
	if gerr != nil || seq < 1 || seq > len(m.Parts) {
		return err
	}
	p := m.Parts[seq-1]
	if p.State != store.PartQueued && p.State != store.PartWritten {
		return err // its outcome must be settled first
	}
	reason := fmt.Sprintf("gave up after %v of transient failures (API_RETRY_MAX_AGE): %v", w.cfg.RetryMaxAge, err)
	_ = w.fail(ctx, msg.ID, seq, reason, err)
	if p.StorageIndex >= 0 {
		_ = w.removeCopy(ctx, mem, msg.ID, seq, p.StorageIndex)
	}
	return nil
}

// reconcileMemory brings the store and the modem's memory into agreement
// after a (re)connect or an interrupted write: it lists the stored
// outbound messages (AT+CMGL=2 STO UNSENT, AT+CMGL=3 STO SENT) and
//
//   - leaves a copy at an index the store knows for a part still to send
//     (written or submitting: its state decides, at claim);
//   - deletes the copy of a part that is done (sent, failed, unknown) and
//     commits PartRemoved (also when the copy is gone already);
//   - adopts a STO UNSENT copy with the PDU of a writing part (PartWritten
//     with its index) and takes a writing part without one back to queued;
//   - deletes every other stored outbound copy, never sending it: it is a
//     duplicate write, or not the api's.
func (w *Worker) reconcileMemory(ctx context.Context, mem *memory, modemID int64) error {
	st := w.cfg.Store
	copies, err := st.ModemCopies(ctx, modemID)
	if err != nil {
		return err
	}
	var listed []smsmem.Entry
	for _, stat := range []int{smsmem.StatStoUnsent, smsmem.StatStoSent} {
		l, err := mem.list(ctx, stat)
		if err != nil {
			return fmt.Errorf("AT+CMGL=%d: %w", stat, err)
		}
		for _, s := range l {
			if s.Stat != stat {
				return transient("AT+CMGL=%d listed index %d with stat %d", stat, s.Index, s.Stat)
			}
			if !s.Consistent() {
				return transient("AT+CMGL=%d: the PDU line of index %d does not match its length (noise?)", stat, s.Index)
			}
		}
		listed = append(listed, l...)
	}
	known := map[int]store.ModemCopy{}
	var writing []store.ModemCopy
	for _, c := range copies {
		if c.State == store.PartWriting {
			writing = append(writing, c)
		} else if c.StorageIndex >= 0 {
			known[c.StorageIndex] = c
		}
	}
	done := func(s store.PartState) bool {
		return s == store.PartSent || s == store.PartDelivered || s == store.PartFailed || s == store.PartUnknown
	}
	adopted := make([]bool, len(writing))
	present := map[int]bool{}
	for _, s := range listed {
		present[s.Index] = true
		if c, ok := known[s.Index]; ok {
			if done(c.State) && samePDU(c.PDUHex, s.PDU) {
				if err := mem.remove(ctx, s.Index); err != nil {
					return fmt.Errorf("AT+CMGD=%d: %w", s.Index, err)
				}
				if _, err := st.PartRemoved(ctx, c.MessageID, c.Seq); err != nil {
					return err
				}
			}
			continue // written or submitting: resolved at claim
		}
		match := -1
		if s.Stat == smsmem.StatStoUnsent {
			for i, c := range writing {
				if !adopted[i] && samePDU(c.PDUHex, s.PDU) {
					match = i
					break
				}
			}
		}
		if match >= 0 {
			c := writing[match]
			if _, err := st.PartWritten(ctx, c.MessageID, c.Seq, s.Index); err != nil {
				return err
			}
			adopted[match] = true
			w.log.Info("outbox: adopted the copy an interrupted write left", "id", c.MessageID, "part", c.Seq, "index", s.Index)
			continue
		}
		w.log.Warn("outbox: deleting a stored outbound message the store does not know, unsent", "index", s.Index, "stat", s.Stat)
		if err := mem.remove(ctx, s.Index); err != nil {
			return fmt.Errorf("AT+CMGD=%d: %w", s.Index, err)
		}
	}
	for i, c := range writing {
		if !adopted[i] {
			if _, err := st.PartRetry(ctx, c.MessageID, c.Seq, "no copy in the modem's memory after an interrupted write"); err != nil {
				return err
			}
		}
	}
	for idx, c := range known {
		if done(c.State) && !present[idx] { // the copy is gone already
			if _, err := st.PartRemoved(ctx, c.MessageID, c.Seq); err != nil {
				return err
			}
		}
	}
	return nil
}
