//go:build linux

// Package control serves the simulator's control API: HTTP with JSON
// bodies, to inject incoming SMS, read what the modem sent, change the
// network, the SIM and faults, and plug the device in and out. Each route
// calls the same Go API (package sim and package device) that in-process
// tests use.
package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/sim-modem-api/sim-modem-api/simulator/device"
	"github.com/sim-modem-api/sim-modem-api/simulator/sim"
)

// maxBody bounds request bodies: a raw PDU is at most a few hundred bytes,
// a text of 255 parts a few tens of kilobytes.
const maxBody = 1 << 20

// Handler returns the control API's routes for s.
func Handler(s *sim.Simulator, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &api{s: s, d: s.Device(), log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /state", a.state)
	mux.HandleFunc("POST /sms", a.injectSMS)
	mux.HandleFunc("GET /sent", a.sent)
	mux.HandleFunc("DELETE /sent", a.clearSent)
	mux.HandleFunc("GET /messages/{store}", a.messages)
	mux.HandleFunc("POST /status-report", a.statusReport)
	mux.HandleFunc("PUT /report-mode", a.reportMode)
	mux.HandleFunc("PUT /network", a.network)
	mux.HandleFunc("PUT /sim", a.sim)
	mux.HandleFunc("PUT /faults", a.faults)
	mux.HandleFunc("POST /urc", a.urc)
	mux.HandleFunc("POST /noise", a.noise)
	mux.HandleFunc("POST /unplug", a.unplug)
	mux.HandleFunc("POST /replug", a.replug)
	mux.HandleFunc("GET /transcript", a.transcript)
	mux.HandleFunc("DELETE /transcript", a.clearTranscript)
	return mux
}

type api struct {
	s   *sim.Simulator
	d   *device.Device
	log *slog.Logger
}

// errorBody is every error response.
type errorBody struct {
	Error string `json:"error"`
}

func (a *api) reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		a.log.Warn("write control response", "err", err)
	}
}

func (a *api) fail(w http.ResponseWriter, code int, err error) {
	a.reply(w, code, errorBody{Error: err.Error()})
}

// decode reads a strict JSON body into v: unknown fields and trailing data
// are errors.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("request body: %w", err)
	}
	if dec.More() {
		return errors.New("request body: more than one JSON value")
	}
	return nil
}

func (a *api) healthz(w http.ResponseWriter, _ *http.Request) {
	a.reply(w, http.StatusOK, map[string]bool{"plugged": a.s.Plugged()})
}

// State is the answer of GET /state.
type State struct {
	Link       string         `json:"link"`
	PTY        string         `json:"pty,omitempty"`
	Plugged    bool           `json:"plugged"`
	Network    Network        `json:"network"`
	SIM        SIM            `json:"sim"`
	Faults     Faults         `json:"faults"`
	ReportMode string         `json:"reportMode"`
	Stores     map[string]int `json:"stores"`
	// HeldReports counts the status reports the network holds until the
	// modem can take them (registered, room in SR).
	HeldReports int `json:"heldReports"`
}

func (a *api) state(w http.ResponseWriter, _ *http.Request) {
	st := State{
		Link:        a.s.Link(),
		PTY:         a.s.PTY(),
		Plugged:     a.s.Plugged(),
		Network:     fromNetwork(a.d.Network()),
		Faults:      fromFaults(a.d.Faults()),
		ReportMode:  string(a.d.ReportMode()),
		Stores:      map[string]int{},
		HeldReports: a.d.HeldReports(),
	}
	st.SIM.State, st.SIM.PINAttempts, st.SIM.PUKAttempts = a.d.SIM()
	for _, store := range []string{"SM", "ME", "SR"} {
		msgs, err := a.d.Messages(store)
		if err != nil {
			a.fail(w, http.StatusInternalServerError, err)
			return
		}
		st.Stores[store] = len(msgs)
	}
	a.reply(w, http.StatusOK, st)
}

// IncomingSMS is the body of POST /sms.
type IncomingSMS struct {
	From     string `json:"from"`
	Text     string `json:"text"`
	Alphabet string `json:"alphabet,omitempty"`
	DataHex  string `json:"dataHex,omitempty"`
	Flash    bool   `json:"flash,omitempty"`
	Ref16    bool   `json:"ref16,omitempty"`
	Order    []int  `json:"order,omitempty"`
	Time     string `json:"time,omitempty"` // RFC 3339, with the zone to put in the SCTS
	PDU      string `json:"pdu,omitempty"`
}

func (a *api) injectSMS(w http.ResponseWriter, r *http.Request) {
	var in IncomingSMS
	if err := decode(r, &in); err != nil {
		a.fail(w, http.StatusBadRequest, err)
		return
	}
	msg, err := in.toDevice()
	if err != nil {
		a.fail(w, http.StatusBadRequest, err)
		return
	}
	res, err := a.d.InjectSMS(msg)
	if err != nil {
		a.fail(w, http.StatusUnprocessableEntity, err)
		return
	}
	a.reply(w, http.StatusCreated, fromInjected(res))
}

func (a *api) sent(w http.ResponseWriter, _ *http.Request) {
	a.reply(w, http.StatusOK, fromSent(a.d.Sent()))
}

func (a *api) clearSent(w http.ResponseWriter, _ *http.Request) {
	a.d.ClearSent()
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) messages(w http.ResponseWriter, r *http.Request) {
	msgs, err := a.d.Messages(r.PathValue("store"))
	if err != nil {
		a.fail(w, http.StatusNotFound, err)
		return
	}
	a.reply(w, http.StatusOK, fromStored(msgs))
}

// StatusReportRequest is the body of POST /status-report.
type StatusReportRequest struct {
	MR     *int  `json:"mr"`
	Status *byte `json:"status"`
}

func (a *api) statusReport(w http.ResponseWriter, r *http.Request) {
	var req StatusReportRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, http.StatusBadRequest, err)
		return
	}
	if req.MR == nil || req.Status == nil {
		a.fail(w, http.StatusBadRequest, errors.New(`"mr" and "status" (TP-ST, 0 = delivered) are required`))
		return
	}
	if err := a.d.SendStatusReport(*req.MR, *req.Status); err != nil {
		a.fail(w, http.StatusUnprocessableEntity, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ReportMode is the body of PUT /report-mode.
type ReportMode struct {
	Mode string `json:"mode"`
}

func (a *api) reportMode(w http.ResponseWriter, r *http.Request) {
	var req ReportMode
	if err := decode(r, &req); err != nil {
		a.fail(w, http.StatusBadRequest, err)
		return
	}
	if err := a.d.SetReportMode(device.ReportMode(req.Mode)); err != nil {
		a.fail(w, http.StatusBadRequest, err)
		return
	}
	a.reply(w, http.StatusOK, req)
}

func (a *api) network(w http.ResponseWriter, r *http.Request) {
	n := fromNetwork(a.d.Network()) // fields left out of the body keep their values
	if err := decode(r, &n); err != nil {
		a.fail(w, http.StatusBadRequest, err)
		return
	}
	if err := a.d.SetNetwork(n.toDevice()); err != nil {
		a.fail(w, http.StatusBadRequest, err)
		return
	}
	a.reply(w, http.StatusOK, fromNetwork(a.d.Network()))
}

// SIM is the SIM part of State and the body of PUT /sim.
type SIM struct {
	State       device.SIMState `json:"state"`
	PINAttempts int             `json:"pinAttempts,omitempty"`
	PUKAttempts int             `json:"pukAttempts,omitempty"`
}

func (a *api) sim(w http.ResponseWriter, r *http.Request) {
	var req struct {
		State device.SIMState `json:"state"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, http.StatusBadRequest, err)
		return
	}
	if err := a.d.SetSIM(req.State); err != nil {
		a.fail(w, http.StatusBadRequest, err)
		return
	}
	var st SIM
	st.State, st.PINAttempts, st.PUKAttempts = a.d.SIM()
	a.reply(w, http.StatusOK, st)
}

func (a *api) faults(w http.ResponseWriter, r *http.Request) {
	f := fromFaults(a.d.Faults())
	if err := decode(r, &f); err != nil {
		a.fail(w, http.StatusBadRequest, err)
		return
	}
	df, err := f.toDevice()
	if err != nil {
		a.fail(w, http.StatusBadRequest, err)
		return
	}
	a.d.SetFaults(df)
	a.reply(w, http.StatusOK, fromFaults(a.d.Faults()))
}

func (a *api) urc(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Line string `json:"line"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, http.StatusBadRequest, err)
		return
	}
	if req.Line == "" {
		a.fail(w, http.StatusBadRequest, errors.New(`"line" is required, e.g. "+CREG: 1"`))
		return
	}
	if err := a.d.InjectURC(req.Line); err != nil {
		a.fail(w, http.StatusConflict, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) noise(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Hex string `json:"hex"`
	}
	if err := decode(r, &req); err != nil {
		a.fail(w, http.StatusBadRequest, err)
		return
	}
	b, err := decodeHex("hex", req.Hex)
	if err != nil || len(b) == 0 {
		a.fail(w, http.StatusBadRequest, errors.New(`"hex" must be non-empty hex bytes, e.g. "00ff1b"`))
		return
	}
	if err := a.d.InjectNoise(b); err != nil {
		a.fail(w, http.StatusConflict, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) unplug(w http.ResponseWriter, r *http.Request) {
	var req struct {
		For string `json:"for,omitempty"` // Go duration; empty = until POST /replug
	}
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			a.fail(w, http.StatusBadRequest, err)
			return
		}
	}
	var err error
	if req.For == "" {
		err = a.s.Unplug()
	} else {
		d, perr := time.ParseDuration(req.For)
		if perr == nil && d <= 0 {
			perr = fmt.Errorf("%v is not a positive duration", d)
		}
		if perr != nil {
			a.fail(w, http.StatusBadRequest, fmt.Errorf(`"for": %w`, perr))
			return
		}
		err = a.s.UnplugFor(d)
	}
	if err != nil {
		a.fail(w, http.StatusConflict, err)
		return
	}
	a.reply(w, http.StatusOK, map[string]bool{"plugged": false})
}

func (a *api) replug(w http.ResponseWriter, _ *http.Request) {
	if err := a.s.Replug(); err != nil {
		a.fail(w, http.StatusConflict, err)
		return
	}
	a.reply(w, http.StatusOK, map[string]any{"plugged": true, "pty": a.s.PTY()})
}

func (a *api) transcript(w http.ResponseWriter, _ *http.Request) {
	a.reply(w, http.StatusOK, fromTranscript(a.d.Transcript()))
}

func (a *api) clearTranscript(w http.ResponseWriter, _ *http.Request) {
	a.d.ClearTranscript()
	w.WriteHeader(http.StatusNoContent)
}
