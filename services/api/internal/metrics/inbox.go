package metrics

// The inbox sweep's instruments (package inbox's hooks), per modem.

// InboxPart counts a received part the sweep read: stored the first time
// (isNew) or found already stored.
func (mm *Modem) InboxPart(isNew bool) {
	r := "again"
	if isNew {
		r = "stored"
	}
	mm.InboxParts.WithLabelValues(r).Inc()
}

// InboxMessage counts a message that entered the inbox, by its state.
func (mm *Modem) InboxMessage(state string) { mm.InboxMessages.WithLabelValues(state).Inc() }

// StatusReport counts a stored status report: invalid if it does not
// decode, else matched or not.
func (mm *Modem) StatusReport(valid, matched bool) {
	r := "unmatched"
	switch {
	case !valid:
		r = "invalid"
	case matched:
		r = "matched"
	}
	mm.StatusReports.WithLabelValues(r).Inc()
}

// InboxStoreFill records a modem store's fill as a sweep found it.
func (mm *Modem) InboxStoreFill(memory string, used, total int) {
	mm.InboxStoreUsed.WithLabelValues(memory).Set(float64(used))
	mm.InboxStoreTotal.WithLabelValues(memory).Set(float64(total))
}

// InboxError counts an inbox failure at a stage (sweep, delete, expire).
func (mm *Modem) InboxError(stage string) { mm.InboxErrors.WithLabelValues(stage).Inc() }
